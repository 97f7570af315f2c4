/// An architecture with its weights: the object behind one open model handle.
///
/// Batches are processed in chunks of `chunkSize` samples so memory stays bounded whatever n the
/// host passes. Reverse mode is batched: a backward pass carries m = n·R cotangent rows at once
/// (R = 1 for `vjp`, R = C for `jacobian`) and writes each row's parameter gradient straight into
/// the caller's buffer, so gradients are per sample, never summed over the batch.
final class Network {
  let architecture: Architecture
  var weights: Weights
  /// Index (in the top-level layer list) of the last dense layer, whose input is the embedding.
  let embeddingLayer: Int?
  /// The groups as ABI 1.3 callers see them: convolutions as sums of terms where
  /// `convolutionFactoring` says so.
  let parameterGroups: [ParameterGroup]
  /// The groups as older callers and the ABI 1.1 slot `factored_jacobian` see them: sums plain.
  let singleTermGroups: [ParameterGroup]
  /// How `factoredJacobian` lays out a sample's row, with sums (ABI 1.3) or without.
  let factoredLayout: FactoredRowLayout
  let singleTermLayout: FactoredRowLayout
  /// How `factoredVJP` lays out a sample's row: `factoredLayout` with one class.
  let vjpLayout: FactoredRowLayout
  static let chunkSize = 64

  init(architecture: Architecture, weights: Weights, convolutionFactoring: ConvolutionFactoring) {
    self.architecture = architecture
    self.weights = weights
    embeddingLayer = architecture.body.layers.lastIndex { $0 is Dense }
    let classes = architecture.body.outputShape[0]
    parameterGroups = architecture.body.layers.flatMap(\.parameterGroups).map {
      convolutionFactoring.decide($0, classes: classes)
    }
    singleTermGroups = parameterGroups.map(\.singleTerm)
    factoredLayout = FactoredRowLayout(groups: parameterGroups, classes: classes)
    singleTermLayout = FactoredRowLayout(groups: singleTermGroups, classes: classes)
    vjpLayout = FactoredRowLayout(groups: parameterGroups, classes: 1)
  }

  var inputSize: Int { architecture.inputShape.reduce(1, *) }
  var outputCount: Int { architecture.body.outputShape[0] }
  var parameterCount: Int { architecture.parameterCount }
  var embeddingSize: Int { embeddingLayer.map { architecture.body.layers[$0].inputSize } ?? 0 }

  /// Logits (n × C) into `logits` and, if given, embeddings (n × E) into `embedding`.
  func forward(
    _ inputs: UnsafePointer<Float>, count n: Int, logits: UnsafeMutablePointer<Float>,
    embedding: UnsafeMutablePointer<Float>?
  ) {
    let (d, c, e) = (inputSize, outputCount, embeddingSize)
    for start in stride(from: 0, to: n, by: Self.chunkSize) {
      let rows = min(Self.chunkSize, n - start)
      let x = Array(UnsafeBufferPointer(start: inputs + start * d, count: rows * d))
      let tap: ((Int, [Float]) -> Void)? = embedding.map { target in
        { index, features in
          if index == self.embeddingLayer { (target + start * e).update(from: features, count: rows * e) }
        }
      }
      let (y, _) = architecture.body.forward(x, count: rows, weights: weights, keep: false, tap: tap)
      (logits + start * c).update(from: y, count: rows * c)
    }
  }

  /// Logits of a batch held in an array (training and evaluation).
  func logits(_ inputs: [Float], count n: Int) -> [Float] {
    var logits = [Float](repeating: 0, count: n * outputCount)
    inputs.withBase { x in logits.withMutableBase { forward(x, count: n, logits: $0, embedding: nil) } }
    return logits
  }

  /// Per-sample vector-Jacobian products: row i of `gradients` (n × P) = Σ_c u[i,c] ∂f_c(x_i)/∂θ.
  func vjp(
    _ inputs: UnsafePointer<Float>, count n: Int, cotangents: UnsafePointer<Float>,
    gradients: UnsafeMutablePointer<Float>
  ) {
    let p = parameterCount
    cotangentBackward(inputs, count: n, cotangents: cotangents) { start in .perRow(gradients + start * p, stride: p) }
  }

  /// Full per-sample Jacobians into `jacobians` (n × C × P): one backward pass with C one-hot
  /// cotangent rows per sample.
  func jacobian(_ inputs: UnsafePointer<Float>, count n: Int, jacobians: UnsafeMutablePointer<Float>) {
    let (c, p) = (outputCount, parameterCount)
    oneHotBackward(inputs, count: n) { start in .perRow(jacobians + start * c * p, stride: p) }
  }

  /// Per-sample Jacobians with the factored groups as factors, into `out` (n × S, `factoredLayout`,
  /// or `singleTermLayout` when `singleTerm`): the same backward pass as `jacobian`, but factored
  /// groups never form their weight gradients.
  func factoredJacobian(
    _ inputs: UnsafePointer<Float>, count n: Int, out: UnsafeMutablePointer<Float>, singleTerm: Bool
  ) {
    let layout = singleTerm ? singleTermLayout : factoredLayout
    oneHotBackward(inputs, count: n) { start in .factored(out + start * layout.rowSize, layout: layout) }
  }

  /// Per-sample vjp rows in `vjpLayout` into `out` (n × S₁): `vjp`'s backward pass, with the
  /// factored groups' a's and contracted Δ's (Σ_c u[i,c] Δ_{c,r}) in place of their gradients.
  func factoredVJP(
    _ inputs: UnsafePointer<Float>, count n: Int, cotangents: UnsafePointer<Float>, out: UnsafeMutablePointer<Float>
  ) {
    let layout = vjpLayout
    cotangentBackward(inputs, count: n, cotangents: cotangents) { start in
      .factored(out + start * layout.rowSize, layout: layout)
    }
  }

  /// Backward passes of one cotangent row per sample, in chunks; `sink(start)` is where the chunk
  /// beginning at sample `start` writes.
  private func cotangentBackward(
    _ inputs: UnsafePointer<Float>, count n: Int, cotangents: UnsafePointer<Float>, sink: (Int) -> GradientSink
  ) {
    let (d, c) = (inputSize, outputCount)
    for start in stride(from: 0, to: n, by: Self.chunkSize) {
      let rows = min(Self.chunkSize, n - start)
      let x = Array(UnsafeBufferPointer(start: inputs + start * d, count: rows * d))
      let u = Array(UnsafeBufferPointer(start: cotangents + start * c, count: rows * c))
      backward(x, count: rows, cotangents: u, repeats: 1, sink: sink(start))
    }
  }

  /// Backward passes of C one-hot cotangent rows per sample, in chunks; `sink(start)` is where
  /// the chunk beginning at sample `start` writes.
  private func oneHotBackward(_ inputs: UnsafePointer<Float>, count n: Int, sink: (Int) -> GradientSink) {
    let (d, c) = (inputSize, outputCount)
    let chunk = max(1, Self.chunkSize / c)
    for start in stride(from: 0, to: n, by: chunk) {
      let rows = min(chunk, n - start)
      let x = Array(UnsafeBufferPointer(start: inputs + start * d, count: rows * d))
      var u = [Float](repeating: 0, count: rows * c * c)
      for i in 0..<rows {
        for k in 0..<c { u[(i * c + k) * c + k] = 1 }
      }
      backward(x, count: rows, cotangents: u, repeats: c, sink: sink(start))
    }
  }

  /// Forward with traces, then backward of `cotangents` (n·repeats × C) into `sink`.
  func backward(_ x: [Float], count n: Int, cotangents: [Float], repeats: Int, sink: GradientSink) {
    let (_, traces) = architecture.body.forward(x, count: n, weights: weights, keep: true)
    _ = architecture.body.backward(
      cotangents, rows: n * repeats, repeats: repeats, traces: traces, weights: weights, sink: sink, needInput: false)
  }
}
