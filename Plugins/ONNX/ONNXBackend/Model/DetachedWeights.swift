/// A model file's protobuf bytes with the `raw_data` of the main graph's initializers cut out,
/// and where each cut field's bytes lie in the file.
///
/// protobuf-c copies every bytes field it unpacks, so a model's weights would be copied twice
/// before they reach a `Tensor`: into protobuf-c's message, then into the tensor. Unpacking the
/// cut message and decoding each initializer from the file's own bytes copies them once: on
/// BERT-base (440 MB) that is 440 MB less fresh memory, whose first touch costs more than the
/// copy on a VM. Only the wire format's framing is read (ModelProto field 7, GraphProto field 5,
/// TensorProto field 9); anything unexpected (a malformed length, a deprecated group, a graph
/// field given twice) leaves the bytes to be unpacked whole.
struct DetachedWeights {
  /// The ModelProto without the initializers' `raw_data` fields.
  let message: [UInt8]
  /// Per initializer of the graph, in the order of the file, its `raw_data` bytes in the file
  /// (the last such field, as protobuf's merge rule says), or nil when it has none.
  let rawData: [Range<Int>?]

  /// The cut message, or nil when `bytes` are not the framing expected.
  init?(_ bytes: UnsafeRawBufferPointer) {
    var message: [UInt8] = []
    var rawData: [Range<Int>?] = []
    var graphs = 0
    let complete = Self.fields(bytes, in: 0..<bytes.count) { field in
      guard field.number == 7, field.wireType == 2 else {
        message += bytes[field.whole]
        return true
      }
      graphs += 1
      var graph: [UInt8] = []
      let parsed = Self.fields(bytes, in: field.payload) { field in
        guard field.number == 5, field.wireType == 2 else {
          graph += bytes[field.whole]
          return true
        }
        var tensor: [UInt8] = []
        var raw: Range<Int>? = nil
        let parsed = Self.fields(bytes, in: field.payload) { field in
          if field.number == 9, field.wireType == 2 {
            raw = field.payload
          } else {
            tensor += bytes[field.whole]
          }
          return true
        }
        rawData.append(raw)
        Self.append(bytes[field.key], tensor, to: &graph)
        return parsed
      }
      Self.append(bytes[field.key], graph, to: &message)
      return parsed
    }
    guard complete, graphs == 1 else { return nil }
    self.message = message
    self.rawData = rawData
  }

  /// One field of a message: its number and wire type, its key's bytes, and where the whole
  /// field and (length-delimited) its payload lie.
  private struct Field {
    var number: UInt64
    var wireType: UInt64
    var key: Range<Int>
    var whole: Range<Int>
    var payload: Range<Int>
  }

  /// Calls `body` on each field of the message at `range` in order; false when the framing is
  /// not well formed or `body` returns false.
  private static func fields(
    _ bytes: UnsafeRawBufferPointer, in range: Range<Int>, _ body: (Field) -> Bool
  ) -> Bool {
    var position = range.lowerBound
    while position < range.upperBound {
      let start = position
      guard let key = varint(bytes, at: &position, end: range.upperBound) else { return false }
      let keyEnd = position
      let wireType = key & 7
      var payloadStart = position
      let length: UInt64
      switch wireType {
      case 0:
        guard varint(bytes, at: &position, end: range.upperBound) != nil else { return false }
        length = 0
      case 1: length = 8
      case 5: length = 4
      case 2:
        guard let declared = varint(bytes, at: &position, end: range.upperBound) else { return false }
        payloadStart = position
        length = declared
      default: return false  // groups (3, 4) are deprecated and unused by ONNX; 6, 7 are invalid
      }
      guard length <= UInt64(range.upperBound - position) else { return false }
      position += Int(length)
      let field = Field(
        number: key >> 3, wireType: wireType, key: start..<keyEnd, whole: start..<position,
        payload: payloadStart..<position)
      guard body(field) else { return false }
    }
    return true
  }

  /// The base-128 varint at `position`, which it moves past; nil when it runs past `end` or
  /// over 10 bytes.
  private static func varint(_ bytes: UnsafeRawBufferPointer, at position: inout Int, end: Int) -> UInt64? {
    var value: UInt64 = 0
    for shift in stride(from: 0, to: 70, by: 7) {
      guard position < end else { return nil }
      let byte = bytes[position]
      position += 1
      value |= UInt64(byte & 0x7f) << UInt64(shift)
      if byte & 0x80 == 0 { return value }
    }
    return nil
  }

  /// Appends a length-delimited field: its `key` as it was, the length, `payload`.
  private static func append(_ key: Slice<UnsafeRawBufferPointer>, _ payload: [UInt8], to message: inout [UInt8]) {
    message += key
    var length = UInt64(payload.count)
    while length >= 0x80 {
      message.append(UInt8(length & 0x7f) | 0x80)
      length >>= 7
    }
    message.append(UInt8(length))
    message += payload
  }
}
