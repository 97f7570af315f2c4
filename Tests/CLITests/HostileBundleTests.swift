import ArrayIO
import EntkTestSupport
import Foundation
import Testing

/// Regression tests for the hostile-input probe of issue 14 on bundles: `entk report` and
/// `entk explain` refuse a bundle whose files changed after it was written, and one whose
/// attributions.json disagrees with its own counts or arrays, with the file, field and value.
enum HostileBundle {
  /// A fresh bundle from the attribute fixture (two layers, so layer names and sums exist).
  static func make() throws -> (AttributeFixture, URL) {
    let fixture = try AttributeFixture(trainCount: 12, testCount: 4, layers: true)
    let result = try runEntk(fixture.arguments() + ["--top-k", "3"])
    #expect(result.status == 0, "\(result.stderr)")
    return (fixture, fixture.directory.appendingPathComponent("bundle"))
  }

  /// Applies `edit` to attributions.json's JSON object; with `resign`, also records the edited
  /// file's SHA-256 (from sha256sum) in manifest.json, as a deliberate forger would.
  static func editAttributions(_ bundle: URL, resign: Bool, _ edit: (inout [String: Any]) -> Void) throws {
    let url = bundle.appendingPathComponent("attributions.json")
    var object = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
    edit(&object)
    try JSONSerialization.data(withJSONObject: object).write(to: url)
    guard resign else { return }
    let sum = try runCommand(URL(fileURLWithPath: "/usr/bin/env"), ["sha256sum", url.path])
    let digest = String(sum.stdout.prefix(64))
    let manifestURL = bundle.appendingPathComponent("manifest.json")
    var manifest = try #require(
      try JSONSerialization.jsonObject(with: Data(contentsOf: manifestURL)) as? [String: Any])
    var files = manifest["files"] as? [[String: Any]] ?? []
    for index in files.indices where files[index]["path"] as? String == "attributions.json" {
      files[index]["sha256"] = digest
    }
    manifest["files"] = files
    try JSONSerialization.data(withJSONObject: manifest).write(to: manifestURL)
  }

  /// The first test point's record, editable in place.
  static func firstPoint(_ object: inout [String: Any], _ edit: (inout [String: Any]) -> Void) {
    var points = object["testPoints"] as? [[String: Any]] ?? []
    edit(&points[0])
    object["testPoints"] = points
  }
}

/// Finding 9: each edit, re-signed in the manifest so only the field check can catch it.
@Test(arguments: [
  ("one layer name for two layers", "layerNames is 1 entries: layerCount is 2"),
  ("surrogatePrediction = Int.min", "testPoints[0].surrogatePrediction is \(Int.min): expected 0..<3"),
  ("testIndex = -1", "testPoints[0].testIndex is -1: expected 0..<4"),
  (
    "layerCount = Int.max",
    "testPoints[0].classes[0].layerContributions is 2 entries: expected one per layer, \(Int.max)"
  ),
  ("classCount = Int.max", "testPoints[0].classes is 3 entries: expected one per class, \(Int.max)"),
  ("trainIndex = 12", "testPoints[0].classes[0].proponents[0].trainIndex is 12: expected 0..<12"),
])
func reportAndExplainRefuseAnInconsistentAttributionsFile(edit: String, message: String) throws {
  let (fixture, bundle) = try HostileBundle.make()
  defer { try? FileManager.default.removeItem(at: fixture.directory) }
  try HostileBundle.editAttributions(bundle, resign: true) { object in
    switch edit {
    case "one layer name for two layers": object["layerNames"] = ["conv"]
    case "surrogatePrediction = Int.min": HostileBundle.firstPoint(&object) { $0["surrogatePrediction"] = Int.min }
    case "testIndex = -1": HostileBundle.firstPoint(&object) { $0["testIndex"] = -1 }
    case "layerCount = Int.max": object["layerCount"] = Int.max
    case "classCount = Int.max": object["classCount"] = Int.max
    default:
      HostileBundle.firstPoint(&object) { point in
        var classes = point["classes"] as? [[String: Any]] ?? []
        for c in classes.indices {
          var proponents = classes[c]["proponents"] as? [[String: Any]] ?? []
          if !proponents.isEmpty { proponents[0]["trainIndex"] = 12 }
          classes[c]["proponents"] = proponents
        }
        point["classes"] = classes
      }
    }
  }
  let report = try runEntk(["report", bundle.path])
  #expect(report.status == 3, "\(edit): exit \(report.status), \(report.stderr)")
  #expect(report.stderr.contains("attributions.json: \(message)"), "\(report.stderr)")
  let explain = try runEntk(["explain", bundle.path, "--test-index", "1"])
  #expect(explain.status == 3, "\(edit): exit \(explain.status), \(explain.stderr)")
  #expect(explain.stderr.contains("attributions.json: \(message)"), "\(explain.stderr)")
}

/// Finding 9, second half: a zeroed surrogate_weights.npy (or any edit not re-signed) fails its
/// SHA-256 in the manifest; report.html, which `report` rewrites, is not checked.
@Test func reportAndExplainRefuseFilesChangedAfterWriting() throws {
  let (fixture, bundle) = try HostileBundle.make()
  defer { try? FileManager.default.removeItem(at: fixture.directory) }
  let weights = bundle.appendingPathComponent("surrogate_weights.npy")
  let original = try NPYFile.read(weights)
  try NPYFile.write(
    NPYArray(float64: [Double](repeating: 0, count: original.shape.reduce(1, *)), shape: original.shape), to: weights)
  let report = try runEntk(["report", bundle.path])
  #expect(report.status == 3)
  #expect(report.stderr.contains("surrogate_weights.npy: SHA-256"), "\(report.stderr)")
  #expect(report.stderr.contains("recorded in manifest.json"), "\(report.stderr)")

  try HostileBundle.editAttributions(bundle, resign: false) { $0["topK"] = 2 }
  let explain = try runEntk(["explain", bundle.path, "--test-index", "1"])
  #expect(explain.status == 3)
  #expect(explain.stderr.contains("attributions.json: SHA-256"), "\(explain.stderr)")
}

/// Finding 8: --top-k far beyond N lists every training point with a non-zero score, and the
/// bundle records the bound that applied.
@Test func hugeTopKListsAtMostEveryTrainingPoint() throws {
  let fixture = try AttributeFixture(trainCount: 12, testCount: 4)
  defer { try? FileManager.default.removeItem(at: fixture.directory) }
  let result = try runEntk(fixture.arguments() + ["--top-k", "9223372036854775807"])
  #expect(result.status == 0, "\(result.stderr)")
  let url = fixture.directory.appendingPathComponent("bundle/attributions.json")
  let object = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
  #expect(object["topK"] as? Int == 12)
  let points = object["testPoints"] as? [[String: Any]] ?? []
  for point in points {
    for attribution in point["classes"] as? [[String: Any]] ?? [] {
      let listed = (attribution["proponents"] as? [Any] ?? []).count + (attribution["opponents"] as? [Any] ?? []).count
      #expect(listed <= 12)
    }
  }
  #expect(try fixture.validate().status == 0)
  let names = try FileManager.default.contentsOfDirectory(atPath: fixture.directory.path)
  #expect(!names.contains { $0.hasPrefix(".bundle") })
}
