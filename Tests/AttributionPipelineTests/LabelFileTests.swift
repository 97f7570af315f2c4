import ArrayIO
import AttributionPipeline
import EntkTestSupport
import Foundation
import Surrogate
import Testing

/// Writes `array` as `name` in a fresh folder and reads it as labels for 4 points of 3 classes.
private func readLabels(_ array: NPYArray, name: String = "labels.npy") throws -> LabelFile {
  let directory = try TestEnvironment.temporaryDirectory("LabelFile")
  defer { try? FileManager.default.removeItem(at: directory) }
  let url = directory.appendingPathComponent(name)
  try NPYFile.write(array, to: url)
  return try LabelFile(path: url.path, count: 4, classCount: 3)
}

@Test func integerLabelsInRangeAreRead() throws {
  #expect(try readLabels(NPYArray(int64: [0, 2, 1, 2], shape: [4])).values == [0, 2, 1, 2])
  // Integral floats are labels too (what numpy writes from a float array of classes).
  #expect(try readLabels(NPYArray(float64: [2, 0, 0, 1], shape: [4])).values == [2, 0, 0, 1])
}

@Test func labelsFromACSVFileAreRead() throws {
  let directory = try TestEnvironment.temporaryDirectory()
  defer { try? FileManager.default.removeItem(at: directory) }
  let url = directory.appendingPathComponent("labels.csv")
  try "1\n0\n2\n1\n".write(to: url, atomically: true, encoding: .utf8)
  #expect(try LabelFile(path: url.path, count: 4, classCount: 3).values == [1, 0, 2, 1])
}

/// Every way labels can be wrong, each refused with the error that names it.
@Test(arguments: [
  (
    "two columns", NPYArray(int64: [0, 1, 2, 0], shape: [2, 2]), "labels have shape [2, 2], expected [N]"
  ),
  ("too few", NPYArray(int64: [0, 1, 2], shape: [3]), "3 labels for 4 points"),
  ("out of range", NPYArray(int64: [0, 1, 3, 0], shape: [4]), "label 3 at index 2 is outside 0..<3"),
  ("negative", NPYArray(int64: [0, -1, 2, 0], shape: [4]), "label -1 at index 1 is outside 0..<3"),
  ("a fraction", NPYArray(float32: [0, 1, 1.5, 0], shape: [4]), "element 2 is 1.5, expected an integer"),
  ("NaN", NPYArray(float32: [0, .nan, 1, 0], shape: [4]), "element 1 is nan, expected an integer"),
])
func badLabelsAreRefused(label: String, array: NPYArray, message: String) throws {
  do {
    let read = try readLabels(array)
    Issue.record("\(label): read \(read.values)")
  } catch {
    #expect("\(error)".contains(message), "\(label): \(error)")
  }
}

@Test func aMissingLabelFileIsACannotReadError() throws {
  #expect {
    try LabelFile(path: "/nonexistent/labels.npy")
  } throws: { error in
    error is NPYError && "\(error)".contains("/nonexistent/labels.npy")
  }
}
