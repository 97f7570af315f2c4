import Foundation

/// Why a file could not be read as one text per line.
public enum TextLinesError: Error, CustomStringConvertible, Equatable {
  case cannotRead(path: String, reason: String)
  /// Line `line` (from 1) is not valid UTF-8.
  case notUTF8(path: String, line: Int)

  public var description: String {
    switch self {
    case .cannotRead(let path, let reason): return "\(path): cannot read: \(reason)"
    case .notUTF8(let path, let line): return "\(path):\(line): not valid UTF-8 text"
    }
  }
}

/// Reads the texts of samples (sentences, documents): one UTF-8 line per sample, in the order of
/// the samples.
///
/// Lines end with "\n" (a "\r" before it is dropped, so CRLF files read the same); a newline at
/// the end of the file ends the last line and adds no sample; an empty line is a sample whose text
/// is empty. Nothing else is interpreted: no comments, no header, no trimming.
public enum TextLinesFile {
  /// Reads `url`'s lines.
  public static func read(_ url: URL) throws -> [String] {
    let data: Data
    do {
      data = try Data(contentsOf: url)
    } catch {
      throw TextLinesError.cannotRead(path: url.path, reason: FileSystemReason.of(error, path: url.path))
    }
    return try parse(data, path: url.path)
  }

  /// Splits the bytes of a whole file into lines; `path` names it in errors.
  public static func parse(_ data: Data, path: String) throws -> [String] {
    var lines = data.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false)
    if data.last == UInt8(ascii: "\n") || data.isEmpty { lines.removeLast() }
    return try lines.enumerated().map { number, bytes in
      let content = bytes.last == UInt8(ascii: "\r") ? bytes.dropLast() : bytes
      guard let text = String(validating: content, as: UTF8.self) else {
        throw TextLinesError.notUTF8(path: path, line: number + 1)
      }
      return text
    }
  }
}
