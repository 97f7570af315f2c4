import ArrayIO
import EntkTestSupport
import Foundation
import Testing

@Test func textLinesAreTheFilesLinesWithoutTheirEndings() throws {
  // CRLF and LF endings, an empty line (an empty text), no newline after the last line.
  let bytes = Data("a café\r\n\nthe <b>end</b>".utf8)
  #expect(try TextLinesFile.parse(bytes, path: "t.txt") == ["a café", "", "the <b>end</b>"])
  // A final newline ends the last line; it adds no sample.
  #expect(try TextLinesFile.parse(Data("one\ntwo\n".utf8), path: "t.txt") == ["one", "two"])
  #expect(try TextLinesFile.parse(Data("\n".utf8), path: "t.txt") == [""])
  #expect(try TextLinesFile.parse(Data(), path: "t.txt") == [])
  // A carriage return inside a line is kept: only the one before "\n" belongs to the ending.
  #expect(try TextLinesFile.parse(Data("a\rb\r\n".utf8), path: "t.txt") == ["a\rb"])
}

@Test func textLinesThatAreNotUTF8NameTheLine() throws {
  // 0xFF never occurs in UTF-8; 0xC3 alone starts a two-byte sequence that is cut off.
  let bytes = Data("fine\n".utf8) + Data([0x66, 0xFF, 0x0A]) + Data("ok\n".utf8)
  #expect(throws: TextLinesError.notUTF8(path: "t.txt", line: 2)) { try TextLinesFile.parse(bytes, path: "t.txt") }
  #expect(throws: TextLinesError.notUTF8(path: "t.txt", line: 1)) {
    try TextLinesFile.parse(Data([0x61, 0xC3]), path: "t.txt")
  }
}

@Test func aMissingTextFileIsACannotRead() throws {
  let directory = try TestEnvironment.temporaryDirectory()
  defer { try? FileManager.default.removeItem(at: directory) }
  let url = directory.appendingPathComponent("missing.txt")
  #expect(throws: TextLinesError.cannotRead(path: url.path, reason: "no such file or folder")) {
    try TextLinesFile.read(url)
  }
}
