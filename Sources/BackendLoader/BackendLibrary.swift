import CEntkABI
import Foundation

/// A backend shared library loaded with `dlopen` and its ABI 1 function table.
///
/// Libraries are never unloaded (unloading a Swift image is unsafe), so a `BackendLibrary`
/// and every pointer it holds live for the rest of the process.
public final class BackendLibrary: @unchecked Sendable {
  /// The ABI major this host implements.
  public static let abiMajor = Int(ENTK_ABI_VERSION_MAJOR)
  /// The ABI minor this host was built against.
  public static let abiMinor = Int(ENTK_ABI_VERSION_MINOR)
  /// Smallest table an ABI 1 backend may hand out: every required slot up to `vjp`.
  static let minimumTableSize = fieldOffset(\.vjp) + MemoryLayout<UInt>.size

  public let url: URL
  /// The backend's table, copied up to its `struct_size`; slots it does not know are NULL.
  let api: entk_backend_api
  /// `struct_size` as the backend reported it.
  public let tableSize: Int

  public var name: String { String(cString: api.name) }
  public var version: String { String(cString: api.version) }
  public var summary: String { String(cString: api.description) }
  public var abiVersion: (major: Int, minor: Int) { (Int(api.abi_version_major), Int(api.abi_version_minor)) }

  /// Optional calls this backend provides, by their ABI names.
  public var capabilities: [String] {
    var names: [String] = []
    if api.jacobian != nil { names.append("jacobian") }
    if api.get_params != nil { names.append("get_params") }
    if api.set_params != nil { names.append("set_params") }
    if api.train != nil { names.append("train") }
    if api.save != nil { names.append("save") }
    if api.factored_jacobian != nil { names.append("factored_jacobian") }
    return names
  }

  /// Loads `nameOrPath` through `locator`.
  public static func load(_ nameOrPath: String, locator: BackendLocator = .standard()) throws -> BackendLibrary {
    try BackendLibrary(url: locator.locate(nameOrPath))
  }

  /// Loads the library at `url` and checks its ABI version and table.
  public init(url: URL) throws {
    let path = url.path
    guard FileManager.default.fileExists(atPath: path) else { throw BackendLoadError.fileMissing(path: path) }
    guard let handle = dlopen(path, RTLD_NOW | RTLD_LOCAL) else {
      throw BackendLoadError.notSharedObject(path: path, dlerror: Self.lastDLError())
    }
    guard let entry = dlsym(handle, ENTK_BACKEND_ENTRY_V1) else {
      if let newer = (2...255).first(where: { dlsym(handle, "entk_backend_v\($0)") != nil }) {
        throw BackendLoadError.abiTooNew(path: path, backendMajor: newer, supportedMajor: Self.abiMajor)
      }
      throw BackendLoadError.entrySymbolMissing(path: path, symbol: ENTK_BACKEND_ENTRY_V1)
    }
    let entryPoint = unsafeBitCast(entry, to: entk_backend_v1_fn.self)
    guard let table = entryPoint() else { throw BackendLoadError.entryReturnedNull(path: path) }
    let raw = UnsafeRawPointer(table)
    let structSize = raw.load(as: Int.self)
    let major = Int(
      raw.load(fromByteOffset: Self.fieldOffset(\.abi_version_major), as: UInt32.self))
    if major != Self.abiMajor {
      if major > Self.abiMajor {
        throw BackendLoadError.abiTooNew(path: path, backendMajor: major, supportedMajor: Self.abiMajor)
      }
      throw BackendLoadError.abiMismatch(path: path, symbol: ENTK_BACKEND_ENTRY_V1, tableMajor: major)
    }
    guard structSize >= Self.minimumTableSize else {
      throw BackendLoadError.structTooSmall(path: path, structSize: structSize, required: Self.minimumTableSize)
    }
    let required: [(String, PartialKeyPath<entk_backend_api>)] = [
      ("name", \.name), ("version", \.version), ("description", \.description),
      ("open", \.open), ("close", \.close), ("describe", \.describe),
      ("param_group", \.param_group), ("forward", \.forward), ("vjp", \.vjp),
    ]
    for (call, keyPath) in required {
      let offset = Self.fieldOffset(keyPath)
      if raw.load(fromByteOffset: offset, as: UInt.self) == 0 {
        throw BackendLoadError.requiredCallMissing(path: path, call: call)
      }
    }
    // Copy only the bytes the backend declared; slots beyond its struct_size stay NULL.
    let size = MemoryLayout<entk_backend_api>.size
    let copy = UnsafeMutableRawPointer.allocate(byteCount: size, alignment: MemoryLayout<entk_backend_api>.alignment)
    defer { copy.deallocate() }
    copy.initializeMemory(as: UInt8.self, repeating: 0, count: size)
    copy.copyMemory(from: raw, byteCount: min(structSize, size))
    let api = copy.load(as: entk_backend_api.self)
    try Self.checkInputSlots(api, path: path)
    self.api = api
    self.url = url
    self.tableSize = structSize
  }

  /// Opens a model with this backend.
  public func open(model path: String, options: String? = nil) throws -> BackendModel {
    try BackendModel(library: self, path: path, options: options)
  }

  /// The ABI 1.3 rules for the `*_inputs` slots: the three basic ones together, and a twin for
  /// every optional 1.0/1.1 slot that takes inputs.
  private static func checkInputSlots(_ api: entk_backend_api, path: String) throws {
    let basic = [api.input_info != nil, api.forward_inputs != nil, api.vjp_inputs != nil]
    guard basic.allSatisfy({ $0 }) else {
      guard basic.allSatisfy({ !$0 }) else {
        throw BackendLoadError.slotsInconsistent(
          path: path, reason: "input_info, forward_inputs and vjp_inputs must be set together or all be NULL")
      }
      return
    }
    let twins: [(String, Bool, Bool)] = [
      ("jacobian", api.jacobian != nil, api.jacobian_inputs != nil),
      ("factored_jacobian", api.factored_jacobian != nil, api.factored_jacobian_inputs != nil),
      ("train", api.train != nil, api.train_inputs != nil),
    ]
    if api.factored_vjp_inputs != nil && api.factored_jacobian_inputs == nil {
      throw BackendLoadError.slotsInconsistent(
        path: path, reason: "factored_vjp_inputs is set without factored_jacobian_inputs, whose layout it shares")
    }
    for (slot, legacy, inputs) in twins where legacy && !inputs {
      throw BackendLoadError.slotsInconsistent(
        path: path, reason: "\(slot) is set but \(slot)_inputs is NULL (a backend with input_info needs both)")
    }
  }

  /// Byte offset of a field of the C table; every key path used here names a stored field.
  private static func fieldOffset(_ field: PartialKeyPath<entk_backend_api>) -> Int {
    guard let offset = MemoryLayout<entk_backend_api>.offset(of: field) else {
      preconditionFailure("\(field) is not a stored field of entk_backend_api")
    }
    return offset
  }

  private static func lastDLError() -> String {
    guard let message = dlerror() else { return "unknown dlopen error" }
    return String(cString: message)
  }
}
