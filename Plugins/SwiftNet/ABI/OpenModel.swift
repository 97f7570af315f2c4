import Foundation

/// What an `entk_model *` handle points to: the network plus the C strings of its parameter
/// group names, which the ABI says stay valid until `close`.
final class OpenModel {
  let network: Network
  let groupNames: [UnsafeMutablePointer<CChar>]

  init(network: Network) {
    self.network = network
    groupNames = network.parameterGroups.map { group in
      let bytes = Array(group.name.utf8CString)
      let name = UnsafeMutablePointer<CChar>.allocate(capacity: bytes.count)
      name.initialize(from: bytes, count: bytes.count)
      return name
    }
  }

  deinit {
    for name in groupNames { name.deallocate() }
  }

  /// The handle handed to the host; it owns one retain, released by `close`.
  func retainedHandle() -> OpaquePointer { OpaquePointer(Unmanaged.passRetained(self).toOpaque()) }

  /// The model behind a handle the host passed back (unretained: the host still owns it).
  static func from(_ handle: OpaquePointer) -> OpenModel {
    Unmanaged<OpenModel>.fromOpaque(UnsafeRawPointer(handle)).takeUnretainedValue()
  }

  static func release(_ handle: OpaquePointer) {
    Unmanaged<OpenModel>.fromOpaque(UnsafeRawPointer(handle)).release()
  }
}
