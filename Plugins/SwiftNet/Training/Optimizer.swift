import Foundation

/// Parameter updates, in PyTorch's formulation so results are comparable: Adam (β1 0.9, β2 0.999, ε 1e-8, bias-corrected) and SGD with optional momentum (v ← μ v + g, θ ← θ − lr v).
///
/// State is float32, like the parameters.
struct Optimizer {
  private let options: TrainingOptions
  private var first: [Float]
  private var second: [Float]
  private var step = 0

  init(options: TrainingOptions, parameterCount: Int) {
    self.options = options
    first = [Float](repeating: 0, count: parameterCount)
    second = [Float](repeating: 0, count: options.optimizer == .adam ? parameterCount : 0)
  }

  /// Applies one update of `parameters` with the batch gradient `gradient`.
  mutating func update(_ parameters: inout [Float], gradient: [Float]) {
    step += 1
    let lr = Float(options.learningRate)
    switch options.optimizer {
    case .adam:
      let (beta1, beta2, eps): (Float, Float, Float) = (0.9, 0.999, 1e-8)
      let correction1 = 1 - Float(pow(Double(beta1), Double(step)))
      let correction2 = (1 - Float(pow(Double(beta2), Double(step)))).squareRoot()
      for k in parameters.indices {
        let g = gradient[k]
        first[k] = beta1 * first[k] + (1 - beta1) * g
        second[k] = beta2 * second[k] + (1 - beta2) * g * g
        parameters[k] -= lr * (first[k] / correction1) / (second[k].squareRoot() / correction2 + eps)
      }
    case .sgd:
      let momentum = Float(options.momentum)
      for k in parameters.indices {
        first[k] = momentum * first[k] + gradient[k]
        parameters[k] -= lr * first[k]
      }
    }
  }
}
