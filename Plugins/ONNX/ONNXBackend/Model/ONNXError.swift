import CEntkABI

/// Everything that can go wrong reading or running an ONNX model, with the context a user needs
/// (file, node, operator, opset, shapes).
///
/// Each case maps to one ABI status.
public enum ONNXError: Error, CustomStringConvertible, Equatable {
  /// The model file (or an external data file) does not exist or cannot be read.
  case notFound(String)
  /// The file is not a valid ONNX model: truncated, corrupt or inconsistent.
  case invalidModel(String)
  /// The model uses an operator, attribute value or type this backend does not implement.
  case unsupported(String)
  /// A tensor has the wrong element type for where it is used.
  case typeMismatch(String)
  /// A tensor has the wrong shape for where it is used.
  case shapeMismatch(String)
  /// A caller's argument is wrong (batch size, options, buffer sizes).
  case invalidArgument(String)
  /// A failure while running a node, with the node and operator it happened in.
  indirect case inNode(node: String, op: String, ONNXError)

  public var description: String {
    switch self {
    case .notFound(let m), .invalidModel(let m), .unsupported(let m), .typeMismatch(let m),
      .shapeMismatch(let m), .invalidArgument(let m):
      return m
    case .inNode(let node, let op, let inner): return "node '\(node)' (\(op)): \(inner)"
    }
  }

  /// The ABI status this error is reported with.
  var status: entk_status {
    switch self {
    case .notFound: return ENTK_STATUS_NOT_FOUND
    case .invalidModel, .typeMismatch, .shapeMismatch: return ENTK_STATUS_INVALID_MODEL
    case .unsupported: return ENTK_STATUS_UNIMPLEMENTED
    case .invalidArgument: return ENTK_STATUS_INVALID_ARGUMENT
    case .inNode(_, _, let inner): return inner.status
    }
  }
}
