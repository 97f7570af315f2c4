import Foundation

/// Reads and writes whole `.npy` files.
public enum NPYFile {
  /// Reads the array at `url`, checking magic, version, dtype, order and size.
  public static func read(_ url: URL) throws -> NPYArray {
    let path = url.path
    let data: Data
    do {
      data = try Data(contentsOf: url, options: .alwaysMapped)
    } catch {
      throw NPYError.cannotRead(path: path, reason: FileSystemReason.of(error, path: path))
    }
    return try decode(data, path: path)
  }

  /// Decodes the bytes of a whole `.npy` file; `path` names it in errors.
  public static func decode(_ data: Data, path: String) throws -> NPYArray {
    let (header, offset) = try NPYHeader.parse(data, path: path)
    let available = data.count - offset
    if available < header.dataByteCount {
      throw NPYError.truncated(path: path, expectedBytes: header.dataByteCount, actualBytes: available)
    }
    if available > header.dataByteCount {
      throw NPYError.trailingData(path: path, expectedBytes: header.dataByteCount, actualBytes: available)
    }
    let start = data.startIndex + offset
    return NPYArray(shape: header.shape, dtype: header.dtype, bytes: Data(data[start...]))
  }

  /// Writes `array` to `url` atomically (a temporary file renamed into place), so a reader never
  /// sees a half-written file.
  public static func write(_ array: NPYArray, to url: URL) throws {
    var data = NPYHeader(dtype: array.dtype, shape: array.shape).encoded()
    data.append(array.bytes)
    do {
      try data.write(to: url, options: .atomic)
    } catch {
      throw NPYError.cannotWrite(path: url.path, reason: FileSystemReason.of(error))
    }
  }
}
