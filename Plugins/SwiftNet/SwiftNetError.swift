import CEntkABI

/// Everything that can go wrong in the swiftnet backend, with the context a user needs (file, layer, expected vs got).
///
/// Each case maps to one ABI status.
enum SwiftNetError: Error, CustomStringConvertible {
  /// A file the model needs does not exist or cannot be read.
  case fileNotFound(path: String, reason: String)
  /// The architecture file is not valid JSON.
  case malformedArchitecture(path: String, reason: String)
  /// An options_json argument is not valid JSON, not an object, or has an unknown or bad key.
  case invalidOptions(String)
  /// The architecture file is inconsistent; `layer` names where ("model" for top-level fields).
  case invalidArchitecture(layer: String, reason: String)
  /// A layer type this backend does not implement.
  case unknownLayer(layer: String, type: String)
  /// A weight file has the wrong dtype, rank, shape or length.
  case invalidWeights(path: String, reason: String)
  /// A call argument is wrong (batch size, label range, options, buffer sizes).
  case invalidArgument(String)
  /// A request too large to allocate.
  case tooLarge(String)
  /// Writing the model failed (an I/O error; bad target paths are invalid arguments).
  case cannotWrite(path: String, reason: String)
  /// The progress callback asked training to stop.
  case cancelled(epoch: Int)

  var description: String {
    switch self {
    case .fileNotFound(let path, let reason): return "\(path): \(reason)"
    case .malformedArchitecture(let path, let reason): return "\(path): malformed JSON: \(reason)"
    case .invalidOptions(let reason): return "options: \(reason)"
    case .invalidArchitecture(let layer, let reason): return "layer '\(layer)': \(reason)"
    case .unknownLayer(let layer, let type):
      return
        "layer '\(layer)': unknown layer type '\(type)' (known: \(LayerType.allCases.map(\.rawValue).joined(separator: ", ")))"
    case .invalidWeights(let path, let reason): return "\(path): \(reason)"
    case .invalidArgument(let reason): return reason
    case .tooLarge(let reason): return "out of memory: \(reason)"
    case .cannotWrite(let path, let reason): return "cannot write \(path): \(reason)"
    case .cancelled(let epoch): return "training stopped by the progress callback after epoch \(epoch)"
    }
  }

  /// The ABI status this error is reported with.
  var status: entk_status {
    switch self {
    case .fileNotFound: return ENTK_STATUS_NOT_FOUND
    case .malformedArchitecture, .invalidArchitecture, .invalidWeights: return ENTK_STATUS_INVALID_MODEL
    case .invalidOptions: return ENTK_STATUS_INVALID_ARGUMENT
    case .unknownLayer: return ENTK_STATUS_UNIMPLEMENTED
    case .invalidArgument: return ENTK_STATUS_INVALID_ARGUMENT
    case .tooLarge: return ENTK_STATUS_OUT_OF_MEMORY
    case .cannotWrite: return ENTK_STATUS_INTERNAL
    case .cancelled: return ENTK_STATUS_CANCELLED
    }
  }
}
