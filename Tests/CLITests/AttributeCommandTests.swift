import ArrayIO
import EntkTestSupport
import Foundation
import Testing

@Test func attributeWritesABundleThatPassesSchemaAndIndependentChecks() throws {
  let fixture = try AttributeFixture()
  defer { try? FileManager.default.removeItem(at: fixture.directory) }
  let result = try runEntk(fixture.arguments())
  #expect(result.status == 0, "\(result.stderr)")
  #expect(result.stdout.contains("report  \(fixture.path("bundle/report.html"))"))
  let validation = try fixture.validate()
  #expect(validation.status == 0, "\(validation.stderr)")
  #expect(validation.stdout.contains("bundle ok"))
  let html = try String(contentsOfFile: fixture.path("bundle/report.html"), encoding: .utf8)
  #expect(html.contains("<svg"))
  #expect(html.contains("data:image/png;base64,"))
  #expect(!html.contains("<script"))
  // Self-contained: the only URLs are SVG's XML namespaces.
  #expect(!html.replacingOccurrences(of: "http://www.w3.org/", with: "").contains("http"))
  // No staging folder is left beside the bundle.
  let leftovers = try FileManager.default.contentsOfDirectory(atPath: fixture.directory.path).filter {
    $0.hasPrefix(".bundle")
  }
  #expect(leftovers.isEmpty)
}

@Test func attributeWithLayerKernelsReportsLayerShares() throws {
  let fixture = try AttributeFixture(layers: true)
  defer { try? FileManager.default.removeItem(at: fixture.directory) }
  let result = try runEntk(
    fixture.arguments() + ["--target", "network-predictions", "--train-logits", fixture.path("train_logits.npy")])
  #expect(result.status == 0, "\(result.stderr)")
  let validation = try fixture.validate()
  #expect(validation.status == 0, "\(validation.stderr)")
  let html = try String(contentsOfFile: fixture.path("bundle/report.html"), encoding: .utf8)
  #expect(html.contains("Per-layer shares (NFT-K)"))
  #expect(FileManager.default.fileExists(atPath: fixture.path("bundle/fit_targets.npy")))
  let explained = try runEntk(["explain", fixture.path("bundle"), "--test-index", "2"])
  #expect(explained.status == 0)
  #expect(explained.stdout.contains("layer 1"))
}

@Test func reportRerendersTheHTMLAndKeepsTheManifestTrue() throws {
  let fixture = try AttributeFixture()
  defer { try? FileManager.default.removeItem(at: fixture.directory) }
  #expect(try runEntk(fixture.arguments()).status == 0)
  let report = fixture.path("bundle/report.html")
  let original = try String(contentsOfFile: report, encoding: .utf8)
  try "stale".write(toFile: report, atomically: true, encoding: .utf8)
  let result = try runEntk(["report", fixture.path("bundle")])
  #expect(result.status == 0, "\(result.stderr)")
  #expect(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == report)
  #expect(try String(contentsOfFile: report, encoding: .utf8) == original)
  #expect(try fixture.validate().status == 0)
}

@Test func explainPrintsOneTestPoint() throws {
  let fixture = try AttributeFixture()
  defer { try? FileManager.default.removeItem(at: fixture.directory) }
  #expect(try runEntk(fixture.arguments()).status == 0)
  let text = try runEntk(["explain", fixture.path("bundle"), "--test-index", "5"])
  #expect(text.status == 0)
  #expect(text.stdout.contains("test point #5"))
  #expect(text.stdout.contains("proponents:"))
  let json = try runEntk(["explain", fixture.path("bundle"), "--test-index", "5", "--json"])
  #expect(json.status == 0)
  let object = try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any]
  #expect(object?["testIndex"] as? Int == 5)
  #expect((object?["classes"] as? [Any])?.count == 3)
  let missing = try runEntk(["explain", fixture.path("bundle"), "--test-index", "12"])
  #expect(missing.status == 3)
  #expect(missing.stderr.contains("no explanation for test index 12"))
  let badClass = try runEntk(["explain", fixture.path("bundle"), "--test-index", "5", "--class", "3"])
  #expect(badClass.status == 3)
  #expect(badClass.stderr.contains("class 3 is outside 0..<3"))
}

/// Runs `entk attribute` with one argument replaced and checks it fails with exit code 3, the
/// expected message, and no bundle (nor staging folder) left behind.
private func expectBadInput(_ fixture: AttributeFixture, replacing option: String, with value: String, message: String)
  throws
{
  var arguments = fixture.arguments()
  let index = try #require(arguments.firstIndex(of: option))
  arguments[index + 1] = value
  let result = try runEntk(arguments)
  #expect(result.status == 3, "\(option): \(result.stderr)")
  #expect(result.stderr.contains(message), "\(result.stderr)")
  let entries = try FileManager.default.contentsOfDirectory(atPath: fixture.directory.path)
  #expect(!entries.contains { $0 == "bundle" || $0.hasPrefix(".bundle") })
}

@Test func attributeRejectsBadInputsWithoutWritingABundle() throws {
  let fixture = try AttributeFixture()
  defer { try? FileManager.default.removeItem(at: fixture.directory) }
  // Mismatched label count.
  try fixture.write(NPYArray(int64: [Int64](repeating: 0, count: 47), shape: [47]), "short_labels.npy")
  try expectBadInput(
    fixture, replacing: "--train-labels", with: fixture.path("short_labels.npy"), message: "47 labels for 48 points")
  // A label out of range (3 classes).
  try fixture.write(NPYArray(int64: (0..<12).map { $0 == 7 ? 3 : 0 }, shape: [12]), "bad_test_labels.npy")
  try expectBadInput(
    fixture, replacing: "--test-labels", with: fixture.path("bad_test_labels.npy"),
    message: "label 3 at index 7 is outside 0..<3")
  // A missing kernel file.
  try expectBadInput(
    fixture, replacing: "--test-kernel", with: fixture.path("nope.npy"), message: "nope.npy: cannot read")
  // A test kernel over a different number of training points.
  try fixture.write(NPYArray(float32: [Float](repeating: 0.5, count: 12 * 40), shape: [12, 40]), "narrow.npy")
  try expectBadInput(
    fixture, replacing: "--test-kernel", with: fixture.path("narrow.npy"), message: "expected kernel shape […, 48]")
  // The full eNTK's C×C blocks.
  try fixture.write(
    NPYArray(float32: [Float](repeating: 0.5, count: 12 * 48 * 4), shape: [12, 48, 2, 2]), "blocks.npy")
  try expectBadInput(fixture, replacing: "--test-kernel", with: fixture.path("blocks.npy"), message: "C×C blocks")
  // A non-square train kernel.
  try fixture.write(NPYArray(float32: [Float](repeating: 0.5, count: 12 * 48), shape: [12, 48]), "wide.npy")
  try expectBadInput(fixture, replacing: "--train-kernel", with: fixture.path("wide.npy"), message: "square")
  // Logits for the wrong number of test points.
  try fixture.write(NPYArray(float32: [Float](repeating: 0, count: 30), shape: [10, 3]), "few_logits.npy")
  try expectBadInput(
    fixture, replacing: "--test-logits", with: fixture.path("few_logits.npy"), message: "10 rows, expected 12")
  // An incomplete kernel folder from `entk kernel` (one tile computed, not merged).
  let folder = try HostileKernel.tiledFolder(in: fixture.directory, name: "kernel-folder")
  try expectBadInput(fixture, replacing: "--train-kernel", with: folder.path, message: "kernel folder is not complete")
  // A folder that `entk kernel` did not write.
  let plain = fixture.directory.appendingPathComponent("plain-folder")
  try FileManager.default.createDirectory(at: plain, withIntermediateDirectories: true)
  try expectBadInput(
    fixture, replacing: "--test-kernel", with: plain.path,
    message: "plain-folder: not a kernel folder: kernel.json missing")
  // A kernel.json that is not one.
  try #"{"kind": "trntk", "complete": true}"#.write(
    to: plain.appendingPathComponent("kernel.json"), atomically: true, encoding: .utf8)
  try expectBadInput(fixture, replacing: "--test-kernel", with: plain.path, message: "not a readable kernel.json")
}

@Test func attributeRefusesToOverwriteWithoutForce() throws {
  let fixture = try AttributeFixture()
  defer { try? FileManager.default.removeItem(at: fixture.directory) }
  #expect(try runEntk(fixture.arguments()).status == 0)
  let again = try runEntk(fixture.arguments())
  #expect(again.status == 3)
  #expect(again.stderr.contains("already exists"))
  #expect(try runEntk(fixture.arguments() + ["--force"]).status == 0)
  #expect(try fixture.validate().status == 0)
}
