/// Layers applied one after another: the body of a network and of each residual branch.
struct LayerSequence {
  let layers: [any Layer]
  let inputShape: [Int]

  var outputShape: [Int] { layers.last?.outputShape ?? inputShape }

  /// Runs the layers; `tap` receives each layer's index and input (for the embedding).
  func forward(_ input: [Float], count n: Int, weights: Weights, keep: Bool, tap: ((Int, [Float]) -> Void)? = nil) -> (
    output: [Float], traces: [LayerTrace]
  ) {
    var x = input
    var traces: [LayerTrace] = []
    traces.reserveCapacity(keep ? layers.count : 0)
    for (index, layer) in layers.enumerated() {
      tap?(index, x)
      let (y, trace) = layer.forward(x, count: n, weights: weights, keep: keep)
      if keep { traces.append(trace) }
      x = y
    }
    return (x, traces)
  }

  /// Backpropagates ∂L/∂output (m = n·repeats rows) through the layers; returns ∂L/∂input when `needInput`.
  ///
  /// Layers before the first one with parameters skip their input gradients.
  func backward(
    _ outputGradient: [Float], rows m: Int, repeats: Int, traces: [LayerTrace], weights: Weights,
    sink: GradientSink, needInput: Bool
  ) -> [Float] {
    let firstWithParameters = needInput ? 0 : (layers.firstIndex { !$0.parameterGroups.isEmpty } ?? layers.count)
    var gradient = outputGradient
    for index in layers.indices.reversed() {
      if index < firstWithParameters { return [] }
      gradient = layers[index].backward(
        gradient, rows: m, repeats: repeats, trace: traces[index], weights: weights, sink: sink,
        needInput: index > firstWithParameters || needInput)
    }
    return gradient
  }
}
