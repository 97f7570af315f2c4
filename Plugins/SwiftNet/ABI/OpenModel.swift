import Foundation

/// What an `entk_model *` handle points to: the network plus the C strings of its parameter
/// group names and unfactored groups' reasons, which the ABI says stay valid until `close`.
final class OpenModel {
  let network: Network
  let groupNames: [UnsafeMutablePointer<CChar>]
  /// Per group, the `entk_group_factor.reason` given when the group is answered unfactored (a sum
  /// of terms is, to callers before ABI 1.3); nil for a group of one outer product.
  let plainReasons: [UnsafeMutablePointer<CChar>?]

  init(network: Network) {
    self.network = network
    groupNames = network.parameterGroups.map { Self.cString($0.name) }
    plainReasons = network.parameterGroups.map { $0.plainReason.map(Self.cString) }
  }

  deinit {
    for name in groupNames { name.deallocate() }
    for reason in plainReasons { reason?.deallocate() }
  }

  private static func cString(_ text: String) -> UnsafeMutablePointer<CChar> {
    let bytes = Array(text.utf8CString)
    let copy = UnsafeMutablePointer<CChar>.allocate(capacity: bytes.count)
    copy.initialize(from: bytes, count: bytes.count)
    return copy
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
