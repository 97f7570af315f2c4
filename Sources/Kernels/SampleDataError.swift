import BackendLoader

/// Data files that do not hold what the model's inputs need.
public enum SampleDataError: Error, CustomStringConvertible, Equatable {
  /// `--train`/`--test` values that are neither one path nor NAME=PATH pairs.
  case malformedSource([String], reason: String)
  /// One plain file for a model that takes several inputs.
  case needsNamedInputs(path: String, inputs: [ModelInput])
  /// A model input with no array for it.
  case missingInput(source: String, input: ModelInput, available: [String])
  /// A NAME=PATH whose NAME is not a model input.
  case unknownInput(name: String, inputs: [ModelInput])
  /// An array whose shape is not [N, ...] with the input's elements per sample.
  case sampleShape(path: String, input: ModelInput, shape: [Int])
  /// An array whose element type cannot feed the input without changing its meaning.
  case elementType(path: String, input: ModelInput, dtype: String)
  /// A value the input's type cannot hold (a bool that is not 0 or 1, an int32 overflow, NaN).
  case invalidValue(path: String, input: ModelInput, index: Int, value: String)
  /// Two inputs' arrays with different sample counts.
  case countsDiffer(first: String, firstCount: Int, second: String, secondCount: Int)

  public var description: String {
    switch self {
    case .malformedSource(let arguments, let reason):
      return "data \(arguments.joined(separator: " ")): \(reason)"
    case .needsNamedInputs(let path, let inputs):
      let names = inputs.map(\.name)
      return
        "\(path): the model takes \(inputs.count) inputs (\(inputs.map(\.description).joined(separator: ", "))); give a .npz with arrays named \(names.joined(separator: ", ")), or one NAME=FILE per input (\(names.map { "\($0)=FILE.npy" }.joined(separator: " ")))"
    case .missingInput(let source, let input, let available):
      return
        "\(source): no array for the model input \(input) (arrays there: \(available.isEmpty ? "none" : available.joined(separator: ", ")))"
    case .unknownInput(let name, let inputs):
      return "'\(name)' is not an input of the model (its inputs: \(inputs.map(\.description).joined(separator: ", ")))"
    case .sampleShape(let path, let input, let shape):
      let dims = input.shape.map(String.init).joined(separator: ", ")
      return
        "\(path): shape \(shape) does not hold samples of the model's input shape \(input.shape) (input '\(input.name)'; expected [N, \(dims)] or any [N, ...] with \(input.sampleElements) values per sample)"
    case .elementType(let path, let input, let dtype):
      let hint =
        input.elementType == .float32
        ? "integer data is never converted to float silently: convert it yourself (numpy: x.astype(np.float32))"
        : "an integer input needs integer data (numpy: x.astype(np.int64))"
      return "\(path): holds \(dtype) values, the model input \(input) takes \(input.elementType); \(hint)"
    case .invalidValue(let path, let input, let index, let value):
      return "\(path): element \(index) is \(value), which the model input \(input) cannot take"
    case .countsDiffer(let first, let firstCount, let second, let secondCount):
      return "\(first) has \(firstCount) samples but \(second) has \(secondCount); every input needs one row per sample"
    }
  }
}
