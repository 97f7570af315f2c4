import Foundation

/// Why a CSV file could not be read as a numeric matrix.
public enum CSVError: Error, CustomStringConvertible, Equatable {
  case cannotRead(path: String, reason: String)
  case empty(path: String)
  case raggedRow(path: String, line: Int, expectedColumns: Int, actualColumns: Int)
  case notANumber(path: String, line: Int, column: Int, text: String)

  public var description: String {
    switch self {
    case .cannotRead(let path, let reason): return "\(path): cannot read: \(reason)"
    case .empty(let path): return "\(path): no data rows"
    case .raggedRow(let path, let line, let expected, let actual):
      return "\(path):\(line): expected \(expected) columns, got \(actual)"
    case .notANumber(let path, let line, let column, let text):
      return "\(path):\(line): column \(column) is '\(text)', not a number"
    }
  }
}

/// Reads comma-separated numeric matrices: one sample per line, an optional header line of
/// column names (recognised by a first line that is not all numbers), `#` comment lines ignored.
public enum CSVFile {
  /// Reads `url` as a float32 array of shape [rows, columns].
  public static func read(_ url: URL) throws -> NPYArray {
    let path = url.path
    let text: String
    do {
      text = try String(contentsOf: url, encoding: .utf8)
    } catch {
      throw CSVError.cannotRead(path: path, reason: FileSystemReason.of(error, path: path))
    }
    return try parse(text, path: path)
  }

  /// Parses the text of a whole CSV file; `path` names it in errors.
  public static func parse(_ text: String, path: String) throws -> NPYArray {
    var values: [Float] = []
    var columns = -1
    var rows = 0
    var lineNumber = 0
    for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
      lineNumber += 1
      let line = rawLine.trimmingCharacters(in: .whitespacesAndNewlines)
      if line.isEmpty || line.hasPrefix("#") { continue }
      let fields = line.split(separator: ",", omittingEmptySubsequences: false).map {
        $0.trimmingCharacters(in: .whitespaces)
      }
      let numbers = fields.map { Float($0) }
      if rows == 0 && columns < 0 && numbers.contains(nil) && fields.allSatisfy({ !$0.isEmpty }) {
        columns = fields.count  // header line
        continue
      }
      if columns < 0 { columns = fields.count }
      guard fields.count == columns else {
        throw CSVError.raggedRow(path: path, line: lineNumber, expectedColumns: columns, actualColumns: fields.count)
      }
      for (index, number) in numbers.enumerated() {
        guard let number else {
          throw CSVError.notANumber(path: path, line: lineNumber, column: index + 1, text: fields[index])
        }
        values.append(number)
      }
      rows += 1
    }
    guard rows > 0 else { throw CSVError.empty(path: path) }
    return NPYArray(float32: values, shape: [rows, columns])
  }
}
