import COpenBLAS

/// Batch normalisation with stored (inference) statistics: y = (x − mean)/√(var + eps)·γ + β per channel.
///
/// γ (`weight`) and β (`bias`) are parameters; `running_mean` and `running_var` are buffers that neither
/// gradients nor `train` change (training treats the layer as a fixed per-channel affine map). Config:
/// `num_features` (optional, checked), `eps` (1e-5).
struct BatchNorm2d: Layer {
  let name: String
  let inputShape: [Int]
  let outputShape: [Int]
  let eps: Double
  let offset: Int
  let bufferOffset: Int

  init(_ config: inout LayerConfig, inputShape: [Int], parameterOffset: Int, bufferOffset: Int) throws(SwiftNetError) {
    name = config.name
    guard inputShape.count == 3 else {
      throw .invalidArchitecture(
        layer: name, reason: "batchnorm2d needs an input [channels, height, width], got shape \(inputShape)")
    }
    if let declared = try config.optionalInt("num_features"), declared != inputShape[0] {
      throw .invalidArchitecture(
        layer: name, reason: "num_features is \(declared) but the input has \(inputShape[0]) channels")
    }
    eps = try config.number("eps", default: 1e-5, above: 0)
    self.inputShape = inputShape
    outputShape = inputShape
    offset = parameterOffset
    self.bufferOffset = bufferOffset
  }

  private var channels: Int { inputShape[0] }
  private var plane: Int { inputShape[1] * inputShape[2] }

  var tensors: [TensorSlot] {
    [
      TensorSlot(suffix: "weight", shape: [channels], offset: offset, isBuffer: false),
      TensorSlot(suffix: "bias", shape: [channels], offset: offset + channels, isBuffer: false),
      TensorSlot(suffix: "running_mean", shape: [channels], offset: bufferOffset, isBuffer: true),
      TensorSlot(suffix: "running_var", shape: [channels], offset: bufferOffset + channels, isBuffer: true),
    ]
  }

  /// A per-channel scale and shift, applied at every position of its channel.
  var parameterGroups: [ParameterGroup] {
    ownParameterGroups(
      plainReason: "batchnorm2d scales and shifts each channel at \(outputShape[1] * outputShape[2]) positions")
  }

  var config: [String: JSONValue] {
    ["type": .string("batchnorm2d"), "name": .string(name), "num_features": .int(channels), "eps": .number(eps)]
  }

  /// PyTorch's initial state: γ = 1, β = 0, mean 0, variance 1.
  func initialize(_ weights: inout Weights, random: inout SeededRandom) {
    for c in 0..<channels {
      weights.parameters[offset + c] = 1
      weights.parameters[offset + channels + c] = 0
      weights.buffers[bufferOffset + c] = 0
      weights.buffers[bufferOffset + channels + c] = 1
    }
  }

  /// Per channel: 1/√(var + eps), computed in float64 and rounded once.
  private func inverseStd(_ weights: Weights) -> [Float] {
    (0..<channels).map { c in Float(1 / (Double(weights.buffers[bufferOffset + channels + c]) + eps).squareRoot()) }
  }

  func forward(_ input: [Float], count n: Int, weights: Weights, keep: Bool) -> (output: [Float], trace: LayerTrace) {
    let inverse = inverseStd(weights)
    var output = [Float](repeating: 0, count: n * outputSize)
    input.withBase { x in
      output.withMutableBase { y in
        for i in 0..<n {
          for c in 0..<channels {
            let mean = weights.buffers[bufferOffset + c]
            let scale = inverse[c] * weights.parameters[offset + c]
            let shift = weights.parameters[offset + channels + c]
            let start = (i * channels + c) * plane
            for k in start..<start + plane { y[k] = (x[k] - mean) * scale + shift }
          }
        }
      }
    }
    return (output, keep ? LayerTrace(input: input) : LayerTrace())
  }

  func backward(
    _ outputGradient: [Float], rows m: Int, repeats: Int, trace: LayerTrace, weights: Weights,
    sink: GradientSink, needInput: Bool
  ) -> [Float] {
    let inverse = inverseStd(weights)
    var inputGradient = [Float](repeating: 0, count: needInput ? m * inputSize : 0)
    outputGradient.withBase { dy in
      trace.input.withBase { x in
        inputGradient.withMutableBase { dx in
          for r in 0..<m {
            let destination = sink.destination(row: r, offset: offset)
            for c in 0..<channels {
              let dyChannel = dy + r * inputSize + c * plane
              let xChannel = x + (r / repeats) * inputSize + c * plane
              // ∂/∂γ = Σ dy·(x − mean)·inv = inv·(Σ dy·x − mean·Σ dy); ∂/∂β = Σ dy.
              var betaSum: Float = 0
              for k in 0..<plane { betaSum += dyChannel[k] }
              let dot = cblas_sdot(Int32(plane), dyChannel, 1, xChannel, 1)
              let gammaSum = (dot - weights.buffers[bufferOffset + c] * betaSum) * inverse[c]
              // Overwrite (never 0·old: the caller's buffer may hold NaNs) or accumulate.
              if sink.beta == 0 {
                destination[c] = gammaSum
                destination[channels + c] = betaSum
              } else {
                destination[c] += gammaSum
                destination[channels + c] += betaSum
              }
              if needInput {
                let scale = inverse[c] * weights.parameters[offset + c]
                let dxChannel = dx + r * inputSize + c * plane
                for k in 0..<plane { dxChannel[k] = dyChannel[k] * scale }
              }
            }
          }
        }
      }
    }
    return inputGradient
  }
}
