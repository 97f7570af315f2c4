import Foundation

/// Element-wise nonlinearities, with PyTorch's definitions and defaults:
/// relu; leakyrelu (`negative_slope`, 0.01); tanh; sigmoid; gelu (exact, with erf);
/// softplus (`beta` 1, `threshold` 20: linear where beta·x > threshold).
struct Activation: Layer {
  enum Function: Equatable {
    case relu
    case leakyRelu(slope: Float)
    case tanh
    case sigmoid
    case gelu
    case softplus(beta: Float, threshold: Float)
  }

  let name: String
  let inputShape: [Int]
  let function: Function

  init(_ config: inout LayerConfig, inputShape: [Int]) throws(SwiftNetError) {
    name = config.name
    self.inputShape = inputShape
    switch config.type {
    case .leakyrelu: function = .leakyRelu(slope: Float(try config.number("negative_slope", default: 0.01)))
    case .tanh: function = .tanh
    case .sigmoid: function = .sigmoid
    case .gelu: function = .gelu
    case .softplus:
      function = .softplus(
        beta: Float(try config.number("beta", default: 1, above: 0)),
        threshold: Float(try config.number("threshold", default: 20)))
    default: function = .relu
    }
  }

  var outputShape: [Int] { inputShape }
  var tensors: [TensorSlot] { [] }
  var parameterGroups: [ParameterGroup] { [] }

  var config: [String: JSONValue] {
    var fields: [String: JSONValue] = ["name": .string(name)]
    switch function {
    case .relu: fields["type"] = .string("relu")
    case .leakyRelu(let slope):
      fields["type"] = .string("leakyrelu")
      fields["negative_slope"] = .number(Double(slope))
    case .tanh: fields["type"] = .string("tanh")
    case .sigmoid: fields["type"] = .string("sigmoid")
    case .gelu: fields["type"] = .string("gelu")
    case .softplus(let beta, let threshold):
      fields["type"] = .string("softplus")
      fields["beta"] = .number(Double(beta))
      fields["threshold"] = .number(Double(threshold))
    }
    return fields
  }

  func initialize(_ weights: inout Weights, random: inout SeededRandom) {}

  func forward(_ input: [Float], count n: Int, weights: Weights, keep: Bool) -> (output: [Float], trace: LayerTrace) {
    var output = [Float](repeating: 0, count: input.count)
    input.withBase { x in
      output.withMutableBase { y in
        let count = input.count
        switch function {
        case .relu: for k in 0..<count { y[k] = x[k] > 0 ? x[k] : 0 }
        case .leakyRelu(let slope): for k in 0..<count { y[k] = x[k] > 0 ? x[k] : slope * x[k] }
        case .tanh: for k in 0..<count { y[k] = Foundation.tanh(x[k]) }
        case .sigmoid: for k in 0..<count { y[k] = Self.sigmoid(x[k]) }
        case .gelu: for k in 0..<count { y[k] = 0.5 * x[k] * (1 + erf(x[k] * Float(0.5).squareRoot())) }
        case .softplus(let beta, let threshold):
          for k in 0..<count { y[k] = beta * x[k] > threshold ? x[k] : log1p(exp(beta * x[k])) / beta }
        }
      }
    }
    return (output, keep ? LayerTrace(input: input, output: output) : LayerTrace())
  }

  private static func sigmoid(_ x: Float) -> Float {
    // Written so exp never overflows.
    x >= 0 ? 1 / (1 + exp(-x)) : exp(x) / (1 + exp(x))
  }

  func backward(
    _ outputGradient: [Float], rows m: Int, repeats: Int, trace: LayerTrace, weights: Weights,
    sink: GradientSink, needInput: Bool
  ) -> [Float] {
    guard needInput else { return [] }
    let size = inputSize
    var inputGradient = [Float](repeating: 0, count: m * size)
    outputGradient.withBase { dy in
      trace.input.withBase { xs in
        trace.output.withBase { ys in
          inputGradient.withMutableBase { dx in
            for r in 0..<m {
              let x = xs + (r / repeats) * size
              let y = ys + (r / repeats) * size
              let (g, d) = (dy + r * size, dx + r * size)
              switch function {
              case .relu: for k in 0..<size { d[k] = x[k] > 0 ? g[k] : 0 }
              case .leakyRelu(let slope): for k in 0..<size { d[k] = x[k] > 0 ? g[k] : slope * g[k] }
              case .tanh: for k in 0..<size { d[k] = g[k] * (1 - y[k] * y[k]) }
              case .sigmoid: for k in 0..<size { d[k] = g[k] * y[k] * (1 - y[k]) }
              case .gelu:
                let scale = 1 / Float(2 * Float.pi).squareRoot()
                for k in 0..<size {
                  let cdf = 0.5 * (1 + erf(x[k] * Float(0.5).squareRoot()))
                  d[k] = g[k] * (cdf + x[k] * scale * exp(-0.5 * x[k] * x[k]))
                }
              case .softplus(let beta, let threshold):
                for k in 0..<size { d[k] = beta * x[k] > threshold ? g[k] : g[k] * Self.sigmoid(beta * x[k]) }
              }
            }
          }
        }
      }
    }
    return inputGradient
  }
}
