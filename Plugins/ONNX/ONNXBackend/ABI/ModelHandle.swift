/// What an `entk_model*` points to: the model plus the C strings the ABI hands out
/// (parameter group names, valid until `close`).
final class ModelHandle {
  let model: ONNXModel
  let groupNames: [UnsafeMutablePointer<CChar>]

  init(model: ONNXModel) {
    self.model = model
    groupNames = model.parameterNames.map { name in
      let bytes = Array(name.utf8CString)
      let copy = UnsafeMutablePointer<CChar>.allocate(capacity: bytes.count)
      copy.initialize(from: bytes, count: bytes.count)
      return copy
    }
  }

  deinit {
    for name in groupNames { name.deallocate() }
  }
}
