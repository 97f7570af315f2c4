/// A residual block: output = body(x) + shortcut(x), where `body` and `shortcut` are layer lists and an absent or empty shortcut is the identity.
///
/// Both must produce the same shape. Sub-layers are named "<block>.body.<i>" and "<block>.shortcut.<i>"
/// unless they have names.
struct Residual: Layer {
  let name: String
  let body: LayerSequence
  let shortcut: LayerSequence

  init(name: String, body: LayerSequence, shortcut: LayerSequence) throws(SwiftNetError) {
    guard body.outputShape == shortcut.outputShape else {
      throw .invalidArchitecture(
        layer: name,
        reason:
          "the body produces shape \(body.outputShape) but the shortcut produces \(shortcut.outputShape); residual addition needs equal shapes"
      )
    }
    self.name = name
    self.body = body
    self.shortcut = shortcut
  }

  var inputShape: [Int] { body.inputShape }
  var outputShape: [Int] { body.outputShape }
  var tensors: [TensorSlot] { (body.layers + shortcut.layers).flatMap(\.tensors) }
  var parameterGroups: [ParameterGroup] { (body.layers + shortcut.layers).flatMap(\.parameterGroups) }

  var config: [String: JSONValue] {
    [
      "type": .string("residual"), "name": .string(name), "body": .array(body.layers.map { .object($0.config) }),
      "shortcut": .array(shortcut.layers.map { .object($0.config) }),
    ]
  }

  func initialize(_ weights: inout Weights, random: inout SeededRandom) {
    for layer in body.layers + shortcut.layers { layer.initialize(&weights, random: &random) }
  }

  func forward(_ input: [Float], count n: Int, weights: Weights, keep: Bool) -> (output: [Float], trace: LayerTrace) {
    var (output, bodyTraces) = body.forward(input, count: n, weights: weights, keep: keep)
    let (side, shortcutTraces) = shortcut.forward(input, count: n, weights: weights, keep: keep)
    for k in output.indices { output[k] += side[k] }
    return (output, keep ? LayerTrace(children: [bodyTraces, shortcutTraces]) : LayerTrace())
  }

  func backward(
    _ outputGradient: [Float], rows m: Int, repeats: Int, trace: LayerTrace, weights: Weights,
    sink: GradientSink, needInput: Bool
  ) -> [Float] {
    var inputGradient = body.backward(
      outputGradient, rows: m, repeats: repeats, traces: trace.children[0], weights: weights, sink: sink,
      needInput: needInput)
    let side = shortcut.backward(
      outputGradient, rows: m, repeats: repeats, traces: trace.children[1], weights: weights, sink: sink,
      needInput: needInput)
    guard needInput else { return [] }
    for k in inputGradient.indices { inputGradient[k] += side[k] }
    return inputGradient
  }
}
