import CEntkABI
import EntkTestSupport
import Testing

@testable import ONNXBackend

/// A model opened through the ONNX backend's C table (`entk_backend_v1`), called through the ABI
/// 1.3 slots with one typed buffer per input, as a host that knows ABI 1.3 calls it.
///
/// The model is closed on deinit.
final class InputSlots {
  /// One input's n samples, in the element type the model declares.
  enum Buffer {
    case float32([Float])
    case int32([Int32])
    case int64([Int64])
    case bool([UInt8])
  }

  /// A call that returned a status other than ENTK_OK, with the backend's message.
  struct Failure: Error, CustomStringConvertible {
    let status: entk_status
    let message: String
    var description: String { "status \(status.rawValue): \(message)" }
  }

  let api: entk_backend_api
  let model: OpaquePointer

  init(path: String, options: String? = nil) throws {
    api = try #require(entkBackendV1()).pointee
    var opened: OpaquePointer? = nil
    var error = [CChar](repeating: 0, count: 1024)
    let status = api.open(path, options, &opened, &error, error.count)
    guard status == ENTK_OK, let opened else { throw Failure(status: status, message: Self.text(error)) }
    model = opened
  }

  deinit { api.close(model) }

  static func text(_ buffer: [CChar]) -> String {
    String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
  }

  /// Runs `call` with an error buffer; throws its status and message unless ENTK_OK.
  static func checked(_ call: (UnsafeMutablePointer<CChar>, Int) -> entk_status) throws(Failure) {
    let error = UnsafeMutablePointer<CChar>.allocate(capacity: 1024)
    defer { error.deallocate() }
    error.initialize(repeating: 0, count: 1024)
    let status = call(error, 1024)
    guard status == ENTK_OK else { throw Failure(status: status, message: String(cString: error)) }
  }

  /// `describe` with the whole ABI 1.3 struct.
  func describe() throws -> entk_model_info {
    var info = entk_model_info()
    info.struct_size = MemoryLayout<entk_model_info>.size
    try Self.checked { api.describe(model, &info, $0, $1) }
    return info
  }

  /// Every parameter group's name, offset and count.
  func groups() throws -> [(name: String, offset: Int, count: Int)] {
    try (0..<Int(describe().num_param_groups)).map { index in
      var group = entk_param_group()
      group.struct_size = MemoryLayout<entk_param_group>.size
      try Self.checked { api.param_group(model, Int64(index), &group, $0, $1) }
      return (group.name.map { String(cString: $0) } ?? "", Int(group.offset), Int(group.count))
    }
  }

  /// `input_info` for input `index`.
  func inputInfo(_ index: Int) throws -> entk_input_info {
    var info = entk_input_info()
    info.struct_size = MemoryLayout<entk_input_info>.size
    let slot = try #require(api.input_info)
    try Self.checked { slot(model, Int64(index), &info, $0, $1) }
    return info
  }

  /// Runs `body` with one raw pointer per buffer, valid during the call.
  static func withPointers<T>(_ buffers: [Buffer], _ body: ([UnsafeRawPointer]) throws -> T) rethrows -> T {
    var copies: [UnsafeMutableRawPointer] = []
    defer { for copy in copies { copy.deallocate() } }
    for buffer in buffers {
      func copy<E>(_ values: [E]) -> UnsafeMutableRawPointer {
        let bytes = max(1, values.count * MemoryLayout<E>.stride)
        let raw = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: 16)
        values.withUnsafeBytes { bytes in
          if let base = bytes.baseAddress { raw.copyMemory(from: base, byteCount: bytes.count) }
        }
        return raw
      }
      switch buffer {
      case .float32(let v): copies.append(copy(v))
      case .int32(let v): copies.append(copy(v))
      case .int64(let v): copies.append(copy(v))
      case .bool(let v): copies.append(copy(v))
      }
    }
    return try body(copies.map { UnsafeRawPointer($0) })
  }

  /// `forward_inputs`: the logits (n × C).
  func forward(_ buffers: [Buffer], count n: Int) throws -> [Float] {
    let info = try describe()
    var logits = [Float](repeating: .nan, count: max(n, 0) * Int(info.num_outputs))
    let slot = try #require(api.forward_inputs)
    try Self.withPointers(buffers) { pointers in
      try Self.checked { slot(model, pointers, Int64(n), &logits, nil, $0, $1) }
    }
    return logits
  }

  /// `vjp_inputs`: the gradients (n × P) for cotangents (n × C).
  func vjp(_ buffers: [Buffer], count n: Int, cotangents: [Float]) throws -> [Float] {
    var gradients = [Float](repeating: .nan, count: max(n, 0) * Int(try describe().num_params))
    let slot = try #require(api.vjp_inputs)
    try Self.withPointers(buffers) { pointers in
      try Self.checked { slot(model, pointers, Int64(n), cotangents, &gradients, $0, $1) }
    }
    return gradients
  }

  /// `jacobian_inputs`: n × C × P.
  func jacobian(_ buffers: [Buffer], count n: Int) throws -> [Float] {
    let info = try describe()
    var jacobians = [Float](repeating: .nan, count: max(n, 0) * Int(info.num_outputs * info.num_params))
    let slot = try #require(api.jacobian_inputs)
    try Self.withPointers(buffers) { pointers in
      try Self.checked { slot(model, pointers, Int64(n), &jacobians, $0, $1) }
    }
    return jacobians
  }

  /// Every group's `group_factor` answer, asked with a struct of `structSize` bytes (this host's,
  /// or an older host's shorter one).
  func factors(structSize: Int = MemoryLayout<entk_group_factor>.size) throws -> [FactorSlots.Factor] {
    let slot = try #require(api.group_factor)
    return try (0..<Int(describe().num_param_groups)).map { index in
      var factor = entk_group_factor()
      factor.struct_size = structSize
      try Self.checked { slot(model, Int64(index), &factor, $0, $1) }
      return FactorSlots.Factor(
        factored: factor.factored != 0, inputDim: Int(factor.input_dim), outputDim: Int(factor.output_dim),
        terms: max(1, Int(factor.terms)), oneHot: factor.one_hot != 0)
    }
  }

  /// `factored_jacobian_inputs`: n rows of S floats.
  func factoredJacobian(_ buffers: [Buffer], count n: Int) throws -> [Float] {
    let info = try describe()
    let rowSize = FactorSlots.rowSize(
      classes: Int(info.num_outputs), groupCounts: try groups().map(\.count), factors: try factors())
    var rows = [Float](repeating: .nan, count: max(n, 0) * rowSize)
    let slot = try #require(api.factored_jacobian_inputs)
    try Self.withPointers(buffers) { pointers in
      try Self.checked { slot(model, pointers, Int64(n), &rows, $0, $1) }
    }
    return rows
  }
}
