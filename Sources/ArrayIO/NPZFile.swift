import CZlib
import Foundation

/// Reads `.npz` files: a ZIP archive of `.npy` arrays, as `numpy.savez` (stored) and
/// `numpy.savez_compressed` (deflated) write them.
///
/// Only what numpy writes is accepted: one disk, no encryption, stored or deflated entries named
/// `NAME.npy`, ZIP64 records where numpy forces them. Every size and offset is checked against the
/// file before it is used, and every entry against its CRC-32, so a truncated or hostile archive
/// gives an `NPZError` rather than a crash or a huge allocation.
public enum NPZFile {
  /// The arrays of the archive at `url`, in archive order, named without the `.npy` suffix.
  public static func read(_ url: URL) throws -> [(name: String, array: NPYArray)] {
    let data: Data
    do {
      data = try Data(contentsOf: url, options: .alwaysMapped)
    } catch {
      throw NPYError.cannotRead(path: url.path, reason: FileSystemReason.of(error, path: url.path))
    }
    return try decode(data, path: url.path)
  }

  /// Decodes the bytes of a whole `.npz` file; `path` names it in errors.
  public static func decode(_ data: Data, path: String) throws -> [(name: String, array: NPYArray)] {
    let bytes = ByteReader(data: data, path: path)
    let directory = try bytes.centralDirectory()
    var arrays: [(name: String, array: NPYArray)] = []
    var names = Set<String>()
    var offset = directory.offset
    for index in 0..<directory.count {
      let entry = try bytes.entry(at: &offset, index: index)
      guard entry.name.hasSuffix(".npy"), entry.name.count > 4 else {
        throw NPZError.notAnArray(path: path, entry: entry.name)
      }
      let name = String(entry.name.dropLast(4))
      guard names.insert(name).inserted else { throw NPZError.duplicateName(path: path, name: name) }
      let contents = try bytes.contents(of: entry)
      arrays.append((name, try NPYFile.decode(contents, path: "\(path)[\(entry.name)]")))
    }
    return arrays
  }
}

/// One file of the archive, as its central-directory record describes it.
private struct ZipEntry {
  var name: String
  var method: UInt16
  var flags: UInt16
  var crc: UInt32
  var compressedSize: Int
  var size: Int
  var localHeaderOffset: Int
}

/// Little-endian reads with bounds checks over the archive's bytes.
private struct ByteReader {
  let data: Data
  let path: String

  func uint16(_ at: Int) throws -> UInt16 {
    try check(at, 2, "a 2-byte field")
    return UInt16(data[data.startIndex + at]) | UInt16(data[data.startIndex + at + 1]) << 8
  }

  func uint32(_ at: Int) throws -> UInt32 {
    UInt32(try uint16(at)) | UInt32(try uint16(at + 2)) << 16
  }

  func uint64(_ at: Int) throws -> UInt64 {
    UInt64(try uint32(at)) | UInt64(try uint32(at + 4)) << 32
  }

  /// A 64-bit size or offset that must lie within the file.
  func position(_ value: UInt64, _ what: String) throws -> Int {
    guard value <= UInt64(data.count) else {
      throw NPZError.malformed(path: path, reason: "\(what) \(value) is past the end of the \(data.count)-byte file")
    }
    return Int(value)
  }

  func check(_ at: Int, _ length: Int, _ what: String) throws {
    guard at >= 0, length >= 0, at <= data.count - length else {
      throw NPZError.malformed(path: path, reason: "\(what) at byte \(at) runs past the end of the file")
    }
  }

  /// Where the central directory starts and how many records it holds (ZIP64 when numpy forced it).
  func centralDirectory() throws -> (offset: Int, count: Int) {
    let minimum = 22
    guard data.count >= minimum else { throw NPZError.notZip(path: path) }
    var end = data.count - minimum
    let lowest = max(0, data.count - minimum - 0xFFFF)
    while try uint32(end) != 0x0605_4b50 {
      guard end > lowest else { throw NPZError.notZip(path: path) }
      end -= 1
    }
    var count = UInt64(try uint16(end + 10))
    var offset = UInt64(try uint32(end + 16))
    if count == 0xFFFF || offset == 0xFFFF_FFFF {
      let locator = end - 20
      guard locator >= 0, try uint32(locator) == 0x0706_4b50 else {
        throw NPZError.malformed(path: path, reason: "ZIP64 end record announced but its locator is missing")
      }
      let record = try position(try uint64(locator + 8), "ZIP64 end record offset")
      guard try uint32(record) == 0x0606_4b50 else {
        throw NPZError.malformed(path: path, reason: "no ZIP64 end record at byte \(record)")
      }
      count = try uint64(record + 32)
      offset = try uint64(record + 48)
    }
    // A central-directory record takes at least 46 bytes: a count beyond that is a lie.
    guard count <= UInt64(data.count / 46) else {
      throw NPZError.malformed(path: path, reason: "the directory claims \(count) entries")
    }
    return (try position(offset, "central directory offset"), Int(count))
  }

  /// The central-directory record at `offset`, which then points past it.
  func entry(at offset: inout Int, index: Int) throws -> ZipEntry {
    let at = offset
    guard try uint32(at) == 0x0201_4b50 else {
      throw NPZError.malformed(path: path, reason: "entry \(index): no central-directory record at byte \(at)")
    }
    let nameLength = Int(try uint16(at + 28))
    let extraLength = Int(try uint16(at + 30))
    let commentLength = Int(try uint16(at + 32))
    try check(at + 46, nameLength + extraLength + commentLength, "entry \(index)'s name and extra fields")
    let nameStart = data.startIndex + at + 46
    let name = String(decoding: data[nameStart..<(nameStart + nameLength)], as: UTF8.self)
    var size = UInt64(try uint32(at + 24))
    var compressedSize = UInt64(try uint32(at + 20))
    var localOffset = UInt64(try uint32(at + 42))
    // ZIP64 extra field: the 64-bit values of exactly those fields that read 0xFFFFFFFF, in order.
    var extra = at + 46 + nameLength
    let extraEnd = extra + extraLength
    while extra + 4 <= extraEnd {
      let id = try uint16(extra)
      let length = Int(try uint16(extra + 2))
      var field = extra + 4
      guard field + length <= extraEnd else {
        throw NPZError.malformed(path: path, reason: "entry '\(name)': an extra field runs past its record")
      }
      if id == 0x0001 {
        var widened = [size, compressedSize, localOffset]
        for slot in widened.indices where widened[slot] == 0xFFFF_FFFF {
          guard field + 8 <= extra + 4 + length else {
            throw NPZError.malformed(path: path, reason: "entry '\(name)': ZIP64 extra field too short")
          }
          widened[slot] = try uint64(field)
          field += 8
        }
        (size, compressedSize, localOffset) = (widened[0], widened[1], widened[2])
      }
      extra += 4 + length
    }
    offset = at + 46 + nameLength + extraLength + commentLength
    return ZipEntry(
      name: name, method: try uint16(at + 10), flags: try uint16(at + 8), crc: try uint32(at + 16),
      compressedSize: try position(compressedSize, "entry '\(name)': compressed size"),
      size: Int(clamping: size), localHeaderOffset: try position(localOffset, "entry '\(name)': offset"))
  }

  /// The entry's uncompressed bytes, checked against its size and CRC-32.
  func contents(of entry: ZipEntry) throws -> Data {
    let name = entry.name
    guard entry.flags & 1 == 0 else { throw NPZError.unsupported(path: path, entry: name, what: "encryption") }
    let header = entry.localHeaderOffset
    guard try uint32(header) == 0x0403_4b50 else {
      throw NPZError.malformed(path: path, reason: "entry '\(name)': no local header at byte \(header)")
    }
    let start = header + 30 + Int(try uint16(header + 26)) + Int(try uint16(header + 28))
    try check(start, entry.compressedSize, "entry '\(name)': data")
    let stored = data[(data.startIndex + start)..<(data.startIndex + start + entry.compressedSize)]
    let contents: Data
    switch entry.method {
    case 0:
      guard entry.size == entry.compressedSize else {
        throw NPZError.malformed(
          path: path, reason: "stored entry '\(name)' has size \(entry.size) but \(entry.compressedSize) stored bytes")
      }
      contents = Data(stored)
    case 8:
      contents = try inflate(stored, size: entry.size, name: name)
    default:
      throw NPZError.unsupported(path: path, entry: name, what: "compression method \(entry.method)")
    }
    let crc = contents.withUnsafeBytes { raw in
      UInt32(crc32(0, raw.bindMemory(to: Bytef.self).baseAddress, uInt(raw.count)))
    }
    guard crc == entry.crc else {
      throw NPZError.malformed(path: path, reason: "entry '\(name)' fails its CRC-32 check (the file is corrupt)")
    }
    return contents
  }

  /// Raw deflate of exactly `size` bytes.
  ///
  /// Deflate expands by at most 1032:1, so a larger claimed size is refused before anything is
  /// allocated.
  private func inflate(_ stored: Data, size: Int, name: String) throws -> Data {
    guard size <= stored.count * 1032 + 64 else {
      throw NPZError.malformed(
        path: path, reason: "entry '\(name)' claims \(size) bytes from \(stored.count) deflated ones")
    }
    var output = Data(count: size)
    var stream = z_stream()
    guard inflateInit2_(&stream, -MAX_WBITS, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
      throw NPZError.malformed(path: path, reason: "zlib could not start inflating '\(name)'")
    }
    defer { inflateEnd(&stream) }
    let status = stored.withUnsafeBytes { input in
      output.withUnsafeMutableBytes { out in
        stream.next_in = UnsafeMutablePointer(mutating: input.bindMemory(to: Bytef.self).baseAddress)
        stream.avail_in = uInt(input.count)
        stream.next_out = out.bindMemory(to: Bytef.self).baseAddress
        stream.avail_out = uInt(out.count)
        return CZlib.inflate(&stream, Z_FINISH)
      }
    }
    guard status == Z_STREAM_END, Int(stream.total_out) == size else {
      throw NPZError.malformed(
        path: path, reason: "entry '\(name)' does not inflate to its \(size) bytes (zlib status \(status))")
    }
    return output
  }
}

/// Why an `.npz` file cannot be read.
public enum NPZError: Error, CustomStringConvertible, Equatable {
  case notZip(path: String)
  case malformed(path: String, reason: String)
  case unsupported(path: String, entry: String, what: String)
  case notAnArray(path: String, entry: String)
  case duplicateName(path: String, name: String)

  public var description: String {
    switch self {
    case .notZip(let path): return "\(path): not an .npz file (no ZIP end-of-directory record)"
    case .malformed(let path, let reason): return "\(path): malformed .npz: \(reason)"
    case .unsupported(let path, let entry, let what):
      return "\(path): entry '\(entry)' uses \(what), which .npz files from numpy never do"
    case .notAnArray(let path, let entry):
      return "\(path): entry '\(entry)' is not an array (.npz entries are NAME.npy)"
    case .duplicateName(let path, let name): return "\(path): two arrays are named '\(name)'"
    }
  }
}
