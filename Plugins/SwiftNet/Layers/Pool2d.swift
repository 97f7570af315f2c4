/// Max or average pooling over windows of each channel (PyTorch's MaxPool2d / AvgPool2d without ceil_mode).
///
/// Config: `kernel_size` (required), `stride` (default = kernel_size), `padding` (0, at most half the
/// kernel); average pooling also `count_include_pad` (default true, as PyTorch: divide by the window size;
/// false: by the number of non-padding elements).
struct Pool2d: Layer {
  enum Mode { case max, average }

  let name: String
  let inputShape: [Int]
  let outputShape: [Int]
  let mode: Mode
  let countIncludePad: Bool
  let geometry: ConvGeometry

  init(_ config: inout LayerConfig, mode: Mode, inputShape: [Int]) throws(SwiftNetError) {
    name = config.name
    self.mode = mode
    guard inputShape.count == 3 else {
      throw .invalidArchitecture(
        layer: name, reason: "\(config.type.rawValue) needs an input [channels, height, width], got shape \(inputShape)"
      )
    }
    self.inputShape = inputShape
    let kernel = try config.pair("kernel_size")
    let stride = try config.pair("stride", default: kernel)
    let padding = try config.pair("padding", default: (0, 0), minimum: 0)
    countIncludePad = mode == .average ? try config.bool("count_include_pad", default: true) : true
    guard padding.0 * 2 <= kernel.0, padding.1 * 2 <= kernel.1 else {
      throw .invalidArchitecture(layer: name, reason: "padding \(padding) must be at most half the kernel \(kernel)")
    }
    geometry = ConvGeometry(
      channels: inputShape[0], height: inputShape[1], width: inputShape[2], kernelH: kernel.0, kernelW: kernel.1,
      strideH: stride.0, strideW: stride.1, paddingH: padding.0, paddingW: padding.1, dilationH: 1, dilationW: 1)
    guard geometry.isValid else {
      throw .invalidArchitecture(
        layer: name, reason: "kernel \(kernel) does not fit the input \(inputShape) padded by \(padding)")
    }
    outputShape = [inputShape[0], geometry.outputH, geometry.outputW]
  }

  var tensors: [TensorSlot] { [] }
  var parameterGroups: [ParameterGroup] { [] }

  var config: [String: JSONValue] {
    let g = geometry
    var fields: [String: JSONValue] = [
      "type": .string(mode == .max ? "maxpool2d" : "avgpool2d"), "name": .string(name),
      "kernel_size": .array([.int(g.kernelH), .int(g.kernelW)]), "stride": .array([.int(g.strideH), .int(g.strideW)]),
      "padding": .array([.int(g.paddingH), .int(g.paddingW)]),
    ]
    if mode == .average { fields["count_include_pad"] = .bool(countIncludePad) }
    return fields
  }

  func initialize(_ weights: inout Weights, random: inout SeededRandom) {}

  /// Calls `body(outputIndex, inputIndices)` for every window of one sample, indices relative to
  /// the sample; padding positions are left out.
  private func forEachWindow(_ body: (Int, [Int]) -> Void) {
    let g = geometry
    var window: [Int] = []
    window.reserveCapacity(g.kernelH * g.kernelW)
    for c in 0..<g.channels {
      for y in 0..<g.outputH {
        for x in 0..<g.outputW {
          window.removeAll(keepingCapacity: true)
          for i in 0..<g.kernelH {
            let ih = y * g.strideH - g.paddingH + i
            guard ih >= 0, ih < g.height else { continue }
            for j in 0..<g.kernelW {
              let iw = x * g.strideW - g.paddingW + j
              if iw >= 0 && iw < g.width { window.append((c * g.height + ih) * g.width + iw) }
            }
          }
          body((c * g.outputH + y) * g.outputW + x, window)
        }
      }
    }
  }

  /// For each output element of a sample: its window (input indices) and the divisor for averages.
  private var windows: [(output: Int, inputs: [Int], divisor: Float)] {
    var result: [(Int, [Int], Float)] = []
    let full = Float(geometry.kernelH * geometry.kernelW)
    forEachWindow { output, inputs in result.append((output, inputs, countIncludePad ? full : Float(inputs.count))) }
    return result
  }

  func forward(_ input: [Float], count n: Int, weights: Weights, keep: Bool) -> (output: [Float], trace: LayerTrace) {
    let windows = self.windows
    var output = [Float](repeating: 0, count: n * outputSize)
    var indices = [Int32](repeating: 0, count: mode == .max && keep ? n * outputSize : 0)
    for i in 0..<n {
      let x = i * inputSize
      let y = i * outputSize
      for window in windows {
        switch mode {
        case .max:
          // Padding positions are left out of the window (PyTorch pads with -inf); ties take the
          // first element. Padding is at most half the kernel (checked at open): no window is empty.
          guard var best = window.inputs.first else { continue }
          for k in window.inputs where input[x + k] > input[x + best] { best = k }
          output[y + window.output] = input[x + best]
          if keep { indices[y + window.output] = Int32(best) }
        case .average:
          var sum: Float = 0
          for k in window.inputs { sum += input[x + k] }
          output[y + window.output] = sum / window.divisor
        }
      }
    }
    return (output, keep ? LayerTrace(indices: indices) : LayerTrace())
  }

  func backward(
    _ outputGradient: [Float], rows m: Int, repeats: Int, trace: LayerTrace, weights: Weights,
    sink: GradientSink, needInput: Bool
  ) -> [Float] {
    guard needInput else { return [] }
    var inputGradient = [Float](repeating: 0, count: m * inputSize)
    switch mode {
    case .max:
      for r in 0..<m {
        let sample = (r / repeats) * outputSize
        for k in 0..<outputSize {
          inputGradient[r * inputSize + Int(trace.indices[sample + k])] += outputGradient[r * outputSize + k]
        }
      }
    case .average:
      let windows = self.windows
      for r in 0..<m {
        for window in windows {
          let share = outputGradient[r * outputSize + window.output] / window.divisor
          for k in window.inputs { inputGradient[r * inputSize + k] += share }
        }
      }
    }
    return inputGradient
  }
}
