import Foundation

/// Reads and writes the float32 `.npy` files that hold a model's tensors: little-endian `<f4`, C order, format 1.0 to 3.0 on reading, 1.0 on writing (what `numpy.save` writes for small arrays).
///
/// Kept inside the backend so the plug-in shares no Swift module with the host.
enum NPYTensor {
  /// The shape and values of the float32 array at `url`.
  static func read(_ url: URL) throws(SwiftNetError) -> (shape: [Int], values: [Float]) {
    let path = url.path
    let data: Data
    do {
      data = try Data(contentsOf: url)
    } catch {
      throw .fileNotFound(path: path, reason: "cannot read: \(error.localizedDescription)")
    }
    let bytes = [UInt8](data)
    guard bytes.count >= 10, bytes[0..<6] == [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59] else {
      throw .invalidWeights(path: path, reason: "not an .npy file")
    }
    let headerLength: Int
    let headerStart: Int
    switch bytes[6] {
    case 1:
      headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
      headerStart = 10
    case 2, 3:
      guard bytes.count >= 12 else { throw .invalidWeights(path: path, reason: "truncated header") }
      headerLength = Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16 | Int(bytes[11]) << 24
      headerStart = 12
    default:
      throw .invalidWeights(path: path, reason: "unsupported .npy version \(bytes[6])")
    }
    guard headerStart + headerLength <= bytes.count else {
      throw .invalidWeights(path: path, reason: "truncated header")
    }
    let header = String(decoding: bytes[headerStart..<headerStart + headerLength], as: UTF8.self)
    guard header.contains("'descr': '<f4'") else {
      throw .invalidWeights(
        path: path,
        reason:
          "dtype must be little-endian float32 ('<f4'); header: \(header.trimmingCharacters(in: .whitespacesAndNewlines))"
      )
    }
    guard header.contains("'fortran_order': False") else {
      throw .invalidWeights(path: path, reason: "array must be in C order")
    }
    guard let open = header.range(of: "'shape': ("), let close = header[open.upperBound...].firstIndex(of: ")") else {
      throw .invalidWeights(path: path, reason: "header has no shape")
    }
    var shape: [Int] = []
    for part in header[open.upperBound..<close].split(separator: ",") {
      let text = part.trimmingCharacters(in: .whitespaces)
      guard let dimension = Int(text), dimension >= 0, dimension <= 1 << 30 else {
        throw .invalidWeights(path: path, reason: "bad shape entry '\(text)'")
      }
      shape.append(dimension)
    }
    var count = 1
    for dimension in shape {
      let (product, overflow) = count.multipliedReportingOverflow(by: dimension)
      guard !overflow, product <= 1 << 30 else {
        throw .invalidWeights(path: path, reason: "shape \(shape) is too large")
      }
      count = product
    }
    let start = headerStart + headerLength
    guard bytes.count - start == count * 4 else {
      throw .invalidWeights(
        path: path, reason: "expected \(count * 4) data bytes for shape \(shape), found \(bytes.count - start)")
    }
    var values = [Float](repeating: 0, count: count)
    values.withUnsafeMutableBytes { target in
      bytes.withUnsafeBytes { source in target.copyMemory(from: UnsafeRawBufferPointer(rebasing: source[start...])) }
    }
    return (shape, values)
  }

  /// The bytes of an `.npy` file (format 1.0) holding `values` with `shape`.
  static func encode(_ values: ArraySlice<Float>, shape: [Int]) -> Data {
    let dimensions = shape.count == 1 ? "\(shape[0])," : shape.map(String.init).joined(separator: ", ")
    var header = "{'descr': '<f4', 'fortran_order': False, 'shape': (\(dimensions)), }"
    // Pad with spaces so magic + length + header + newline is a multiple of 64 bytes.
    let unpadded = 10 + header.utf8.count + 1
    header += String(repeating: " ", count: (64 - unpadded % 64) % 64) + "\n"
    var data = Data([0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0])
    let length = header.utf8.count
    data.append(contentsOf: [UInt8(length & 0xFF), UInt8(length >> 8)])
    data.append(contentsOf: Array(header.utf8))
    values.withUnsafeBytes { data.append(contentsOf: $0) }
    return data
  }
}
