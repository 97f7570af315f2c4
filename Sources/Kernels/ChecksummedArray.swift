import ArrayIO
import Foundation

/// A float32 `.npy` written atomically with its size and `TileChecksum`, and trusted again only
/// when all of them and its header match: how tiles and stored feature blocks reach disk.
enum ChecksummedArray {
  /// Writes `values` with `shape` to `url` (a temporary name, then rename).
  ///
  /// Returns what the sidecar records; `what` names the array in the error for an empty buffer.
  static func write(_ values: UnsafeBufferPointer<Float>, shape: [Int], to url: URL, what: String) throws -> (
    bytes: Int, checksum: String
  ) {
    let header = NPYHeader(dtype: .float32, shape: shape).encoded()
    let body = UnsafeRawBufferPointer(values)
    guard let bodyStart = body.baseAddress else { throw KernelError.io(path: url.path, reason: "empty \(what)") }
    var checksum = TileChecksum()
    header.withUnsafeBytes { checksum.update($0) }
    checksum.update(body)
    try AtomicFile.write(
      [header, Data(bytesNoCopy: UnsafeMutableRawPointer(mutating: bodyStart), count: body.count, deallocator: .none)],
      to: url)
    return (header.count + body.count, checksum.text)
  }

  /// The file's bytes and the offset of its values when it has `bytes` bytes, `checksum` and a
  /// float32 header of `shape`; otherwise why not.
  static func read(_ url: URL, bytes: Int, checksum: String, shape: [Int]) -> Result<(Data, offset: Int), Mismatch> {
    guard let data = try? Data(contentsOf: url, options: .alwaysMapped) else { return .failure(.missing) }
    guard data.count == bytes else { return .failure(.size(data.count)) }
    let actual = data.withUnsafeBytes { TileChecksum.of($0) }
    guard actual == checksum else { return .failure(.checksum(actual)) }
    guard let (header, offset) = try? NPYHeader.parse(data, path: url.path), header.dtype == .float32,
      header.shape == shape, data.count - offset == header.dataByteCount
    else { return .failure(.header) }
    return .success((data, offset))
  }

  /// Why a file is not the array its sidecar describes.
  enum Mismatch: Error {
    case missing
    case size(Int)
    case checksum(String)
    case header
  }
}
