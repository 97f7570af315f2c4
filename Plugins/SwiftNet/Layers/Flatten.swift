/// Reshapes a sample to [features]; the data does not move (buffers are already row-major).
struct Flatten: Layer {
  let name: String
  let inputShape: [Int]
  let outputShape: [Int]

  init(_ config: inout LayerConfig, inputShape: [Int]) {
    name = config.name
    self.inputShape = inputShape
    outputShape = [inputShape.reduce(1, *)]
  }

  var tensors: [TensorSlot] { [] }
  var parameterGroups: [ParameterGroup] { [] }
  var config: [String: JSONValue] { ["type": .string("flatten"), "name": .string(name)] }

  func initialize(_ weights: inout Weights, random: inout SeededRandom) {}

  func forward(_ input: [Float], count n: Int, weights: Weights, keep: Bool) -> (output: [Float], trace: LayerTrace) {
    (input, LayerTrace())
  }

  func backward(
    _ outputGradient: [Float], rows m: Int, repeats: Int, trace: LayerTrace, weights: Weights,
    sink: GradientSink, needInput: Bool
  ) -> [Float] {
    needInput ? outputGradient : []
  }
}
