import CEntkABI

/// The header's struct_size rule, probed from the host side: a backend must serve a struct as the
/// ABI version that introduced its call defined it, and write nothing past that `struct_size`.
extension BackendModel {
  /// Smallest `struct_size` of each caller-allocated struct: `entk_model_info` and
  /// `entk_param_group` as in ABI 1.0, `entk_group_factor` as in ABI 1.1 (before 1.2's `reason`),
  /// `entk_input_info` as in ABI 1.3.
  static let firstModelInfoSize = structSize(\entk_model_info.num_param_groups)
  static let firstParamGroupSize = structSize(\entk_param_group.count)
  static let firstGroupFactorSize = structSize(\entk_group_factor.output_dim)
  static let firstInputInfoSize = structSize(\entk_input_info.shape)

  /// Guard bytes written after the struct; a backend that changes one wrote past `struct_size`.
  static let guardByte: UInt8 = 0xA5

  /// Probes `describe`, `param_group(0)` and, when present, `group_factor(0)` and `input_info(0)`;
  /// returns the problems.
  ///
  /// Each struct is passed at its first version's size, followed by guard bytes up to this host's
  /// size of the struct plus 64, and at a `struct_size` of 8. Returns a description of each call
  /// that failed (or, at 8, did not fail) or changed a guard byte.
  public func probeFirstStructSizes() -> [String] {
    var problems: [String] = []
    let api = library.api
    problems += probe(entk_model_info.self, "describe", size: Self.firstModelInfoSize) {
      api.describe(handle, $0, $1, $2)
    }
    problems += probe(entk_param_group.self, "param_group(0)", size: Self.firstParamGroupSize) {
      api.param_group(handle, 0, $0, $1, $2)
    }
    if let groupFactor = api.group_factor {
      problems += probe(entk_group_factor.self, "group_factor(0)", size: Self.firstGroupFactorSize) {
        groupFactor(handle, 0, $0, $1, $2)
      }
    }
    if let inputInfo = api.input_info {
      problems += probe(entk_input_info.self, "input_info(0)", size: Self.firstInputInfoSize) {
        inputInfo(handle, 0, $0, $1, $2)
      }
    }
    return problems
  }

  /// The call at the first version's `size` must succeed, and with a `struct_size` of 8 (the
  /// field itself) must fail with an invalid-argument status; neither may write past `struct_size`.
  private func probe<Struct>(
    _ type: Struct.Type, _ call: String, size: Int,
    _ body: (UnsafeMutablePointer<Struct>, UnsafeMutablePointer<CChar>, Int) -> entk_status
  ) -> [String] {
    var problems = probe(type, call, size: size, expecting: nil, body)
    problems += probe(type, call, size: MemoryLayout<Int>.size, expecting: .invalidArgument, body)
    return problems
  }

  private func probe<Struct>(
    _ type: Struct.Type, _ call: String, size: Int, expecting failure: BackendStatus?,
    _ body: (UnsafeMutablePointer<Struct>, UnsafeMutablePointer<CChar>, Int) -> entk_status
  ) -> [String] {
    let total = MemoryLayout<Struct>.size + 64
    let raw = UnsafeMutableRawPointer.allocate(byteCount: total, alignment: MemoryLayout<Struct>.alignment)
    defer { raw.deallocate() }
    raw.initializeMemory(as: UInt8.self, repeating: 0, count: size)
    (raw + size).initializeMemory(as: UInt8.self, repeating: Self.guardByte, count: total - size)
    // Every such struct starts with its size_t struct_size.
    raw.storeBytes(of: size, as: Int.self)
    let typed = raw.bindMemory(to: Struct.self, capacity: 1)
    do {
      try check(call) { body(typed, $0, $1) }
      if failure != nil { return ["\(call) with struct_size \(size), below the first version, returned OK"] }
    } catch BackendCallError.failed(_, _, let status, _) where status == failure {
      // The refusal a too-small struct must get; its guard bytes are checked below.
    } catch {
      if failure == nil {
        return [
          "\(call) refused struct_size \(size), its first version's size, which every backend must serve: \(error)"
        ]
      }
      return ["\(call) with struct_size \(size): expected an invalid-argument status, got: \(error)"]
    }
    let after = UnsafeRawBufferPointer(start: raw + size, count: total - size)
    guard let changed = after.firstIndex(where: { $0 != Self.guardByte }) else { return [] }
    return ["\(call) with struct_size \(size) wrote byte \(size + changed), past the caller's struct"]
  }

  /// Bytes of `Root` up to and including `field`: C's ENTK_STRUCT_SIZE, which Swift cannot import.
  private static func structSize<Root, Value>(_ field: KeyPath<Root, Value>) -> Int {
    guard let offset = MemoryLayout<Root>.offset(of: field) else {
      preconditionFailure("\(field) is not a stored field of \(Root.self)")
    }
    return offset + MemoryLayout<Value>.size
  }
}
