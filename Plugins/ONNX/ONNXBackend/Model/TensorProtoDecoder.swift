import COnnxProto

/// Turns a protobuf-c `TensorProto` into a `Tensor`, from `raw_data` (little-endian), the typed
/// repeated fields, or external data.
///
/// Every count and byte length is checked against the dims. float64 tensors (the constants of
/// exporters' attention-mask arithmetic) are read as float32 (`narrowed`).
struct TensorProtoDecoder {
  /// nil when external data is not allowed, as for tensors inside test-data files.
  let externalData: ExternalDataResolver?

  /// Largest element count accepted for one tensor (2^31): a guard against absurd dims.
  static let maximumElementCount = 1 << 31

  /// The tensor of `proto`; `rawData` is its `raw_data` when the caller cut that field out of
  /// the message (`DetachedWeights`).
  func decode(
    _ proto: UnsafePointer<Onnx__TensorProto>, what: String, rawData detached: UnsafeRawBufferPointer? = nil
  ) throws(ONNXError) -> Tensor {
    let p = proto.pointee
    let name = p.name.map { String(cString: $0) } ?? ""
    let label = name.isEmpty ? what : "\(what) '\(name)'"
    var shape: [Int] = []
    var count = 1
    for i in 0..<p.n_dims {
      let d = p.dims[i]
      guard d >= 0, d <= Int64(Self.maximumElementCount) else {
        throw .invalidModel("\(label): dimension \(d) is invalid")
      }
      shape.append(Int(d))
      let (product, overflow) = count.multipliedReportingOverflow(by: Int(d))
      guard !overflow, product <= Self.maximumElementCount else {
        throw .invalidModel("\(label): shape \(shape) is too large")
      }
      count = product
    }
    let type = p.has_data_type != 0 ? p.data_type : 0
    guard let width = Self.byteWidth(type) else {
      throw .unsupported(
        "\(label): element type \(Self.typeName(type)) is not supported (float32, float64, int64, int32, int16, int8, uint8, uint16, bool are)"
      )
    }
    if p.has_data_location != 0, p.data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL {
      guard let externalData else { throw .unsupported("\(label): external data is not allowed here") }
      var entries: [String: String] = [:]
      for i in 0..<p.n_external_data {
        guard let entry = p.external_data[i], let key = entry.pointee.key else { continue }
        entries[String(cString: key)] = entry.pointee.value.map { String(cString: $0) } ?? ""
      }
      let bytes = try externalData.bytes(entries: entries, tensorName: name, expectedByteCount: count * width)
      return bytes.withUnsafeBytes { Self.fromLittleEndian($0, type: type, shape: shape) }
    } else if let raw = detached ?? stored(p) {
      guard raw.count == count * width else {
        throw .invalidModel(
          "\(label): raw_data has \(raw.count) bytes, shape \(shape) of \(Self.typeName(type)) needs \(count * width)")
      }
      return Self.fromLittleEndian(raw, type: type, shape: shape)
    }
    switch type {
    case 1:
      guard p.n_float_data == count else { throw countError(label, p.n_float_data, count, "float_data") }
      return Tensor(
        shape: shape, floats: count == 0 ? [] : Array(UnsafeBufferPointer(start: p.float_data, count: count)))
    case 11:
      guard p.n_double_data == count else { throw countError(label, p.n_double_data, count, "double_data") }
      return Tensor(
        shape: shape,
        floats: count == 0 ? [] : UnsafeBufferPointer(start: p.double_data, count: count).map(Self.narrowed))
    case 7:
      guard p.n_int64_data == count else { throw countError(label, p.n_int64_data, count, "int64_data") }
      return Tensor(shape: shape, ints: count == 0 ? [] : Array(UnsafeBufferPointer(start: p.int64_data, count: count)))
    default:
      guard p.n_int32_data == count else { throw countError(label, p.n_int32_data, count, "int32_data") }
      let values = count == 0 ? [] : UnsafeBufferPointer(start: p.int32_data, count: count).map { Int64($0) }
      return type == 9 ? Tensor(shape: shape, bools: values.map { $0 != 0 }) : Tensor(shape: shape, ints: values)
    }
  }

  /// The `raw_data` field's bytes, nil when there is none.
  private func stored(_ p: Onnx__TensorProto) -> UnsafeRawBufferPointer? {
    p.has_raw_data != 0 ? UnsafeRawBufferPointer(start: p.raw_data.data, count: p.raw_data.len) : nil
  }

  /// A float64 value as the float32 the interpreter computes with.
  ///
  /// Rounded, and a finite value beyond float32's range clamped to ±`Float.greatestFiniteMagnitude`
  /// rather than turned into an infinity. Masks built as (1 − mask)·finfo(float64).min then give 0·(−3.4e38) = 0 where
  /// PyTorch gives 0 in float64, not 0·(−inf) = NaN; infinities and NaN stay what they are.
  static func narrowed(_ value: Double) -> Float {
    guard value.isFinite else { return Float(value) }
    return Float(max(-Double(Float.greatestFiniteMagnitude), min(Double(Float.greatestFiniteMagnitude), value)))
  }

  private func countError(_ label: String, _ got: Int, _ expected: Int, _ field: String) -> ONNXError {
    .invalidModel("\(label): \(field) has \(got) values, its shape needs \(expected)")
  }

  /// Bytes per element of the supported types, nil for the others.
  static func byteWidth(_ type: Int32) -> Int? {
    switch type {
    case 1, 6: return 4  // float, int32
    case 7, 11: return 8  // int64, float64
    case 2, 3, 9: return 1  // uint8, int8, bool
    case 4, 5: return 2  // uint16, int16
    default: return nil
    }
  }

  /// ONNX's name of a `TensorProto.DataType` code.
  static func typeName(_ type: Int32) -> String {
    let names = [
      "undefined", "float", "uint8", "int8", "uint16", "int16", "int32", "int64", "string", "bool", "float16",
      "double", "uint32", "uint64", "complex64", "complex128", "bfloat16",
    ]
    return type >= 0 && Int(type) < names.count ? names[Int(type)] : "type \(type)"
  }

  private static func fromLittleEndian(_ bytes: UnsafeRawBufferPointer, type: Int32, shape: [Int]) -> Tensor {
    let count = shape.reduce(1, *)
    // float32 on a little-endian host (every one Swift runs on here): the bytes are the values.
    if type == 1, UInt32(1).littleEndian == 1 {
      let values = [Float](unsafeUninitializedCapacity: count) { values, written in
        if let target = values.baseAddress, let source = bytes.baseAddress {
          UnsafeMutableRawPointer(target).copyMemory(from: source, byteCount: count * 4)
        }
        written = count
      }
      return Tensor(shape: shape, floats: values)
    }
    func word(_ i: Int, _ width: Int) -> UInt64 {
      var value: UInt64 = 0
      for b in 0..<width { value |= UInt64(bytes[i * width + b]) << (8 * UInt64(b)) }
      return value
    }
    switch type {
    case 1: return Tensor(shape: shape, floats: (0..<count).map { Float(bitPattern: UInt32(word($0, 4))) })
    case 7: return Tensor(shape: shape, ints: (0..<count).map { Int64(bitPattern: word($0, 8)) })
    case 11: return Tensor(shape: shape, floats: (0..<count).map { narrowed(Double(bitPattern: word($0, 8))) })
    case 6: return Tensor(shape: shape, ints: (0..<count).map { Int64(Int32(bitPattern: UInt32(word($0, 4)))) })
    case 5: return Tensor(shape: shape, ints: (0..<count).map { Int64(Int16(bitPattern: UInt16(word($0, 2)))) })
    case 4: return Tensor(shape: shape, ints: (0..<count).map { Int64(word($0, 2)) })
    case 3: return Tensor(shape: shape, ints: (0..<count).map { Int64(Int8(bitPattern: bytes[$0])) })
    case 9: return Tensor(shape: shape, bools: (0..<count).map { bytes[$0] != 0 })
    default: return Tensor(shape: shape, ints: (0..<count).map { Int64(bytes[$0]) })
    }
  }
}

extension TensorProtoDecoder {
  /// Decodes a serialized `TensorProto` (the `.pb` files of ONNX's test data).
  static func decodeSerialized(_ bytes: [UInt8], what: String) throws(ONNXError) -> Tensor {
    let proto = bytes.withUnsafeBufferPointer { buffer in
      onnx__tensor_proto__unpack(nil, buffer.count, buffer.baseAddress)
    }
    guard let proto else { throw .invalidModel("\(what): not a valid TensorProto") }
    defer { onnx__tensor_proto__free_unpacked(proto, nil) }
    return try TensorProtoDecoder(externalData: nil).decode(proto, what: what)
  }
}
