/// Why a backend library could not be found, loaded or accepted.
public enum BackendLoadError: Error, CustomStringConvertible, Equatable {
  case notFound(name: String, searched: [String])
  case fileMissing(path: String)
  case notSharedObject(path: String, dlerror: String)
  case entrySymbolMissing(path: String, symbol: String)
  case abiTooNew(path: String, backendMajor: Int, supportedMajor: Int)
  case entryReturnedNull(path: String)
  case abiMismatch(path: String, symbol: String, tableMajor: Int)
  case structTooSmall(path: String, structSize: Int, required: Int)
  case requiredCallMissing(path: String, call: String)
  /// Slots that the ABI says go together are not all set (e.g. `jacobian` without `jacobian_inputs`).
  case slotsInconsistent(path: String, reason: String)

  public var description: String {
    switch self {
    case .notFound(let name, let searched):
      let places = searched.isEmpty ? "(no search directories)" : searched.joined(separator: ", ")
      return
        "backend '\(name)' not found: looked for libentk-backend-\(name).so in \(places); set ENTK_BACKEND_PATH or pass a path"
    case .fileMissing(let path): return "\(path): backend library does not exist"
    case .notSharedObject(let path, let dlerror):
      return "\(path): not a loadable shared object: \(dlerror)"
    case .entrySymbolMissing(let path, let symbol):
      return "\(path): not an entk backend: it does not export '\(symbol)'"
    case .abiTooNew(let path, let backendMajor, let supportedMajor):
      return
        "\(path): backend implements entk ABI \(backendMajor), this entk supports ABI \(supportedMajor); rebuild the backend against ABI \(supportedMajor) or upgrade entk"
    case .entryReturnedNull(let path):
      return "\(path): entry point returned no function table (the backend failed to initialise)"
    case .abiMismatch(let path, let symbol, let tableMajor):
      return "\(path): '\(symbol)' returned a table claiming ABI major \(tableMajor)"
    case .structTooSmall(let path, let structSize, let required):
      return "\(path): function table struct_size is \(structSize) bytes, ABI 1 requires at least \(required)"
    case .requiredCallMissing(let path, let call):
      return "\(path): required call '\(call)' is NULL in the function table"
    case .slotsInconsistent(let path, let reason):
      return "\(path): inconsistent function table: \(reason)"
    }
  }
}

/// A backend call that returned an error status, or answered with something impossible.
public enum BackendCallError: Error, CustomStringConvertible, Equatable {
  /// The backend returned `status` with `message` from call `call`.
  case failed(backend: String, call: String, status: BackendStatus, message: String)
  /// The backend's `describe` or `param_group` answer breaks the ABI's rules.
  case invalidDescription(backend: String, reason: String)
  /// A capability the backend does not provide (an optional table slot that is NULL).
  case unsupported(backend: String, call: String)
  /// The caller passed buffers that do not match the model's description.
  case shapeMismatch(call: String, expected: String, actual: String)
  /// A buffer handed to a call was empty where the ABI needs a pointer.
  case emptyBuffer
  /// A float-array call on a model whose inputs are not one float32 input.
  case notSingleFloatInput(call: String, inputs: String)

  public var description: String {
    switch self {
    case .failed(let backend, let call, let status, let message):
      return "backend '\(backend)': \(call) failed (\(status)): \(message)"
    case .invalidDescription(let backend, let reason):
      return "backend '\(backend)' describes its model inconsistently: \(reason)"
    case .unsupported(let backend, let call):
      return "backend '\(backend)' does not support '\(call)'"
    case .shapeMismatch(let call, let expected, let actual):
      return "\(call): expected \(expected), got \(actual)"
    case .emptyBuffer:
      return "an empty buffer was passed where the backend ABI needs a pointer"
    case .notSingleFloatInput(let call, let inputs):
      return "\(call): the model takes \(inputs), not one float32 input; pass one buffer per input"
    }
  }
}

/// The `entk_status` codes of the ABI, plus any unknown value a backend might return.
public enum BackendStatus: Equatable, Sendable, CustomStringConvertible {
  case invalidArgument, notFound, invalidModel, unimplemented, outOfMemory, cancelled, internalError
  case unknown(UInt32)

  init(rawValue: UInt32) {
    switch rawValue {
    case 1: self = .invalidArgument
    case 2: self = .notFound
    case 3: self = .invalidModel
    case 4: self = .unimplemented
    case 5: self = .outOfMemory
    case 6: self = .cancelled
    case 7: self = .internalError
    default: self = .unknown(rawValue)
    }
  }

  public var description: String {
    switch self {
    case .invalidArgument: return "invalid argument"
    case .notFound: return "not found"
    case .invalidModel: return "invalid model"
    case .unimplemented: return "unimplemented"
    case .outOfMemory: return "out of memory"
    case .cancelled: return "cancelled"
    case .internalError: return "internal error"
    case .unknown(let code): return "unknown status \(code)"
    }
  }
}
