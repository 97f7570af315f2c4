/// What an `entk_model*` points to: the model plus the C strings the ABI hands out
/// (parameter group names, input names and the reasons groups are not factored, valid until
/// `close`).
final class ModelHandle {
  let model: ONNXModel
  let groupNames: [UnsafeMutablePointer<CChar>]
  /// Per input, `entk_input_info.name`.
  let inputNames: [UnsafeMutablePointer<CChar>]
  /// Per group, `entk_group_factor.reason`: nil for a factored group.
  let plainReasons: [UnsafeMutablePointer<CChar>?]

  init(model: ONNXModel) {
    self.model = model
    groupNames = model.parameterNames.map(Self.cString)
    inputNames = model.inputs.map { Self.cString($0.name) }
    plainReasons = model.plainReasons.map { $0.map(Self.cString) }
  }

  deinit {
    for name in groupNames + inputNames { name.deallocate() }
    for reason in plainReasons { reason?.deallocate() }
  }

  private static func cString(_ text: String) -> UnsafeMutablePointer<CChar> {
    let bytes = Array(text.utf8CString)
    let copy = UnsafeMutablePointer<CChar>.allocate(capacity: bytes.count)
    copy.initialize(from: bytes, count: bytes.count)
    return copy
  }
}
