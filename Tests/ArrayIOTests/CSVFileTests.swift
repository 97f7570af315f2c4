import EntkTestSupport
import Foundation
import Testing

@testable import ArrayIO

private func writeCSV(_ text: String) throws -> URL {
  let url = try TestEnvironment.temporaryDirectory().appendingPathComponent("data.csv")
  try text.write(to: url, atomically: true, encoding: .utf8)
  return url
}

@Test func csvWithHeaderAndCommentsReadsAsFloatMatrix() throws {
  let url = try writeCSV("# two samples\nx0,x1,x2\n1,2.5,-3\n\n4e-1, 5 ,6\n")
  let array = try CSVFile.read(url)
  #expect(array.shape == [2, 3])
  #expect(array.float32Values() == [1, 2.5, -3, 0.4, 5, 6])
}

@Test func raggedCSVRowNamesTheLine() throws {
  let url = try writeCSV("1,2,3\n4,5\n")
  #expect(throws: CSVError.raggedRow(path: url.path, line: 2, expectedColumns: 3, actualColumns: 2)) {
    try CSVFile.read(url)
  }
}

@Test func nonNumericCSVCellNamesLineAndColumn() throws {
  let url = try writeCSV("1,2\n3,abc\n")
  #expect(throws: CSVError.notANumber(path: url.path, line: 2, column: 2, text: "abc")) { try CSVFile.read(url) }
}

@Test func arrayFileRejectsNonFiniteSamples() throws {
  let url = try writeCSV("1,nan\n")
  #expect(throws: NPYError.nonFinite(path: url.path, index: 1)) { try ArrayFile.readFiniteFloat32(url) }
}
