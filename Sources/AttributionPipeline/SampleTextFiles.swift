import ArrayIO
import Foundation
import Reporter

/// The files of an attribution's texts (`--train-text`, `--test-text`), read: one text per line, one line per
/// sample.
struct SampleTextFiles {
  private let train: (path: String, lines: [String])?
  private let test: (path: String, lines: [String])?

  /// Reads the files that are given (nil: not given).
  init(train: String?, test: String?) throws {
    self.train = try train.map { ($0, try TextLinesFile.read(URL(fileURLWithPath: $0))) }
    self.test = try test.map { ($0, try TextLinesFile.read(URL(fileURLWithPath: $0))) }
  }

  /// Refuses files whose line counts are not the kernels' N training and M test points.
  func checkCounts(train n: Int, test m: Int) throws {
    for (option, file, count, point) in [
      ("--train-text", train, n, "training point"), ("--test-text", test, m, "test point"),
    ] {
      if let file, file.lines.count != count {
        throw AttributeError.textCount(
          path: file.path, expected: count, actual: file.lines.count, meaning: "\(option): one line per \(point)")
      }
    }
  }

  /// Neither file was given.
  var isEmpty: Bool { train == nil && test == nil }

  /// What the bundle stores (`texts.json`), nil when neither file was given.
  var bundleTexts: SampleTexts? { isEmpty ? nil : SampleTexts(train: train?.lines, test: test?.lines) }

  /// The manifest's records of the files: role, path, SHA-256 and [line count].
  func dataRecords() throws -> [Manifest.DataRecord] {
    try [("train-texts", train), ("test-texts", test)].compactMap { role, file in
      guard let file else { return nil }
      return Manifest.DataRecord(
        role: role, path: file.path, sha256: try SHA256.hex(fileAt: URL(fileURLWithPath: file.path)),
        shape: [file.lines.count])
    }
  }
}
