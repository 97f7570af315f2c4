/// Mean over height and width: [C, H, W] → [C] (PyTorch's AdaptiveAvgPool2d(1) + flatten).
struct GlobalAvgPool: Layer {
  let name: String
  let inputShape: [Int]
  let outputShape: [Int]

  init(_ config: inout LayerConfig, inputShape: [Int]) throws(SwiftNetError) {
    name = config.name
    guard inputShape.count == 3 else {
      throw .invalidArchitecture(
        layer: name, reason: "globalavgpool needs an input [channels, height, width], got shape \(inputShape)")
    }
    self.inputShape = inputShape
    outputShape = [inputShape[0]]
  }

  var tensors: [TensorSlot] { [] }
  var parameterGroups: [ParameterGroup] { [] }
  var config: [String: JSONValue] { ["type": .string("globalavgpool"), "name": .string(name)] }
  private var plane: Int { inputShape[1] * inputShape[2] }

  func initialize(_ weights: inout Weights, random: inout SeededRandom) {}

  func forward(_ input: [Float], count n: Int, weights: Weights, keep: Bool) -> (output: [Float], trace: LayerTrace) {
    var output = [Float](repeating: 0, count: n * outputSize)
    for row in 0..<n * outputSize {
      var sum: Float = 0
      for k in row * plane..<(row + 1) * plane { sum += input[k] }
      output[row] = sum / Float(plane)
    }
    return (output, LayerTrace())
  }

  func backward(
    _ outputGradient: [Float], rows m: Int, repeats: Int, trace: LayerTrace, weights: Weights,
    sink: GradientSink, needInput: Bool
  ) -> [Float] {
    guard needInput else { return [] }
    var inputGradient = [Float](repeating: 0, count: m * inputSize)
    for row in 0..<m * outputSize {
      let share = outputGradient[row] / Float(plane)
      for k in row * plane..<(row + 1) * plane { inputGradient[k] = share }
    }
    return inputGradient
  }
}
