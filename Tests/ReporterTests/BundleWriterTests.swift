import ArrayIO
import EntkTestSupport
import Foundation
import Reporter
import Testing

private struct Interrupted: Error {}

@Test func aWriteThatFailsBeforeCommitLeavesNoBundleAndNoStagingFolder() throws {
  let parent = try TestEnvironment.temporaryDirectory()
  defer { try? FileManager.default.removeItem(at: parent) }
  let final = parent.appendingPathComponent("bundle")
  func writeThenFail() throws {
    let writer = try BundleWriter(finalURL: final, replaceExisting: false)
    try writer.add("a.json", data: Data("{}".utf8))
    // While files are being written, nothing is at the final path; the staging folder is a
    // hidden sibling.
    #expect(!FileManager.default.fileExists(atPath: final.path))
    #expect(writer.stagingURL.deletingLastPathComponent().path == final.deletingLastPathComponent().path)
    #expect(writer.stagingURL.lastPathComponent.hasPrefix(".bundle.partial-"))
    #expect(FileManager.default.fileExists(atPath: writer.stagingURL.appendingPathComponent("a.json").path))
    throw Interrupted()
  }
  #expect(throws: Interrupted.self) { try writeThenFail() }
  #expect(!FileManager.default.fileExists(atPath: final.path))
  #expect(try FileManager.default.contentsOfDirectory(atPath: parent.path).isEmpty)
}

@Test func commitMovesTheCompleteFolderIntoPlaceWithChecksums() throws {
  let parent = try TestEnvironment.temporaryDirectory()
  defer { try? FileManager.default.removeItem(at: parent) }
  let final = parent.appendingPathComponent("bundle")
  let writer = try BundleWriter(finalURL: final, replaceExisting: false)
  try writer.add("x.txt", data: Data("abc".utf8))
  try writer.commit()
  #expect(try String(contentsOf: final.appendingPathComponent("x.txt"), encoding: .utf8) == "abc")
  #expect(
    writer.files == [
      BundleFileEntry(
        path: "x.txt", sha256: "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", bytes: 3)
    ])
  #expect(try FileManager.default.contentsOfDirectory(atPath: parent.path) == ["bundle"])
}

@Test func anExistingBundleIsKeptUnlessReplacedAndSurvivesAFailedReplacement() throws {
  let parent = try TestEnvironment.temporaryDirectory()
  defer { try? FileManager.default.removeItem(at: parent) }
  let final = parent.appendingPathComponent("bundle")
  let first = try BundleWriter(finalURL: final, replaceExisting: false)
  try first.add("v.txt", data: Data("1".utf8))
  try first.commit()
  #expect(throws: ReporterError.bundleExists(path: final.standardizedFileURL.path)) {
    try BundleWriter(finalURL: final, replaceExisting: false)
  }
  // A replacement that fails midway leaves the old bundle untouched.
  func replaceThenFail() throws {
    let writer = try BundleWriter(finalURL: final, replaceExisting: true)
    try writer.add("v.txt", data: Data("2".utf8))
    throw Interrupted()
  }
  #expect(throws: Interrupted.self) { try replaceThenFail() }
  #expect(try String(contentsOf: final.appendingPathComponent("v.txt"), encoding: .utf8) == "1")
  let second = try BundleWriter(finalURL: final, replaceExisting: true)
  try second.add("v.txt", data: Data("2".utf8))
  try second.commit()
  #expect(try String(contentsOf: final.appendingPathComponent("v.txt"), encoding: .utf8) == "2")
  #expect(try FileManager.default.contentsOfDirectory(atPath: parent.path) == ["bundle"])
}

@Test func aKilledWriterLeavesOnlyAHiddenStagingFolder() throws {
  // A child process starts a bundle and is killed before committing: nothing appears at the
  // final path. `entk attribute` on a large enough problem stands in for the writer; it is
  // killed once its staging folder exists.
  let parent = try TestEnvironment.temporaryDirectory()
  defer { try? FileManager.default.removeItem(at: parent) }
  let n = 800
  let kernel = (0..<(n * n)).map { i in Float(i / n == i % n ? 1 : 0.3) }
  try NPYFile.write(NPYArray(float32: kernel, shape: [n, n]), to: parent.appendingPathComponent("K.npy"))
  try NPYFile.write(
    NPYArray(float32: (0..<(n * 2)).map { Float($0 % 2) }, shape: [n, 2]), to: parent.appendingPathComponent("L.npy"))
  try NPYFile.write(
    NPYArray(int64: (0..<n).map { Int64($0 % 2) }, shape: [n]), to: parent.appendingPathComponent("y.npy"))
  let final = parent.appendingPathComponent("bundle")
  let process = Process()
  process.executableURL = TestEnvironment.entkExecutable
  process.arguments = [
    "attribute", "--train-kernel", parent.appendingPathComponent("K.npy").path, "--test-kernel",
    parent.appendingPathComponent("K.npy").path,
    "--train-labels", parent.appendingPathComponent("y.npy").path, "--test-logits",
    parent.appendingPathComponent("L.npy").path,
    "--max-iterations", "3", "--out", final.path,
  ]
  process.standardError = FileHandle.nullDevice
  process.standardOutput = FileHandle.nullDevice
  try process.run()
  let deadline = Date().addingTimeInterval(120)
  var sawStaging = false
  while process.isRunning && Date() < deadline {
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: parent.path)) ?? []
    if entries.contains(where: { $0.hasPrefix(".bundle.partial-") }) {
      sawStaging = true
      kill(process.processIdentifier, SIGKILL)
      break
    }
    usleep(2000)
  }
  process.waitUntilExit()
  #expect(sawStaging, "the writer finished before it could be interrupted")
  #expect(!FileManager.default.fileExists(atPath: final.path))
}
