import Foundation

/// Minibatch training with mean softmax cross-entropy.
///
/// Deterministic: the only randomness is the per-epoch shuffle, drawn from the seed. After each epoch
/// `progress` receives {"epoch":e,"epochs":E,"loss":L,"accuracy":A} (L and A averaged over the epoch's
/// minibatches as they were trained) and returns false to stop.
struct Trainer {
  let options: TrainingOptions

  func train(
    _ network: Network, inputs: UnsafePointer<Float>, labels: UnsafePointer<Int64>, count n: Int,
    progress: (String) -> Bool
  ) throws(SwiftNetError) {
    let (d, c, p) = (network.inputSize, network.outputCount, network.parameterCount)
    for i in 0..<n where labels[i] < 0 || labels[i] >= Int64(c) {
      throw .invalidArgument("label \(i) is \(labels[i]); the model has \(c) classes (labels must be in 0..<\(c))")
    }
    var random = SeededRandom(seed: options.seed)
    var optimizer = Optimizer(options: options, parameterCount: p)
    let body = network.architecture.body
    let batchSize = min(options.batchSize, n)
    for epoch in 1...options.epochs {
      let start = network.weights.parameters
      let order = random.permutation(n)
      var lossSum = 0.0
      var correct = 0
      for first in stride(from: 0, to: n, by: batchSize) {
        let rows = min(batchSize, n - first)
        var x = [Float](repeating: 0, count: rows * d)
        var y = [Int](repeating: 0, count: rows)
        for r in 0..<rows {
          let sample = order[first + r]
          for k in 0..<d { x[r * d + k] = inputs[sample * d + k] }
          y[r] = Int(labels[sample])
        }
        let (logits, traces) = body.forward(x, count: rows, weights: network.weights, keep: true)
        var outputGradient = [Float](repeating: 0, count: rows * c)
        for r in 0..<rows {
          let row = logits[r * c..<(r + 1) * c]
          let top = row.max() ?? 0
          let shifted = row.map { Double($0 - top) }
          let normaliser = shifted.reduce(0) { $0 + exp($1) }
          lossSum += log(normaliser) - shifted[y[r]]
          if row.firstIndex(of: top).map({ $0 - r * c }) == y[r] { correct += 1 }
          for k in 0..<c {
            let probability = exp(shifted[k]) / normaliser
            outputGradient[r * c + k] = Float((probability - (k == y[r] ? 1 : 0)) / Double(rows))
          }
        }
        var gradient = [Float](repeating: 0, count: p)
        gradient.withMutableBase { base in
          _ = body.backward(
            outputGradient, rows: rows, repeats: 1, traces: traces, weights: network.weights, sink: .summed(base),
            needInput: false)
        }
        optimizer.update(&network.weights.parameters, gradient: gradient)
      }
      let loss = lossSum / Double(n)
      guard loss.isFinite, network.weights.parameters.allSatisfy(\.isFinite) else {
        network.weights.parameters = start
        throw .invalidArgument(
          "training diverged in epoch \(epoch) (loss \(loss)); parameters restored to the previous epoch's; lower the learning rate"
        )
      }
      let event = String(
        format: "{\"epoch\":%d,\"epochs\":%d,\"loss\":%.9g,\"accuracy\":%.9g}", epoch, options.epochs, loss,
        Double(correct) / Double(n))
      guard progress(event) else { throw .cancelled(epoch: epoch) }
    }
  }
}
