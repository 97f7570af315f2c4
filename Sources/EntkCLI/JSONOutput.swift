import Foundation

/// Writes `value` as pretty, key-sorted JSON on standard output (the `--json` contract).
func printJSON<T: Encodable>(_ value: T) throws {
  let encoder = JSONEncoder()
  encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
  let data = try encoder.encode(value)
  FileHandle.standardOutput.write(data)
  FileHandle.standardOutput.write(Data("\n".utf8))
}

/// Writes a line to standard error (progress and diagnostics never go to stdout).
func printError(_ text: String) {
  FileHandle.standardError.write(Data((text + "\n").utf8))
}
