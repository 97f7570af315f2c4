/// Why a surrogate could not be fitted or applied.
public enum SurrogateError: Error, CustomStringConvertible, Equatable {
  /// A kernel's size or shape does not fit the other inputs.
  case kernelShape(name: String, expected: String, actual: [Int])
  /// A kernel holds NaN or an infinity at flat element `index`.
  case nonFiniteKernel(name: String, index: Int)
  /// The number of labels differs from the number of points.
  case labelCount(name: String, expected: Int, actual: Int)
  /// Labels that are not one-dimensional, one per point.
  case labelShape(name: String, shape: [Int])
  /// A label is outside 0..<classCount.
  case labelOutOfRange(name: String, index: Int, label: Int, classCount: Int)
  /// Logits (e.g. the network's) have a shape that does not fit.
  case logitsShape(name: String, expected: [Int], actual: [Int])
  /// A setting is out of its domain.
  case invalidSetting(name: String, value: String, reason: String)
  /// The kGLM's layout differs from the kernel rows it is applied to.
  case layoutMismatch(expected: String, actual: String)

  public var description: String {
    switch self {
    case .kernelShape(let name, let expected, let actual):
      return "\(name): expected kernel shape \(expected), got \(actual)"
    case .nonFiniteKernel(let name, let index):
      return "\(name): element \(index) is NaN or infinite"
    case .labelCount(let name, let expected, let actual):
      return "\(name): \(actual) labels for \(expected) points"
    case .labelShape(let name, let shape):
      return "\(name): labels have shape \(shape), expected [N] (one integer label per point)"
    case .labelOutOfRange(let name, let index, let label, let classCount):
      return
        "\(name): label \(label) at index \(index) is outside 0..<\(classCount) (the model has \(classCount) classes)"
    case .logitsShape(let name, let expected, let actual):
      return "\(name): expected logits of shape \(expected), got \(actual)"
    case .invalidSetting(let name, let value, let reason):
      return "\(name) = \(value): \(reason)"
    case .layoutMismatch(let expected, let actual):
      return "kernel rows \(actual) do not match the surrogate's \(expected)"
    }
  }
}
