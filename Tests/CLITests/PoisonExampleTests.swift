import ArrayIO
import EntkTestSupport
import Foundation
import Testing

/// examples/poison run as a user would (smaller: 400 training images, 20 triggered test images):
/// precision.json agrees with the proponents the bundle itself lists, and the poisoned model's
/// proponents are poisoned points where the clean model's are not.
@Test func poisonExampleFindsThePoisonedPointsWithThePoisonedModelOnly() throws {
  let directory = try TestEnvironment.temporaryDirectory()
  defer { try? FileManager.default.removeItem(at: directory) }
  let example = TestEnvironment.repositoryRoot.appendingPathComponent("examples/poison")
  let out = directory.appendingPathComponent("out")
  let run = try runCommand(
    URL(fileURLWithPath: "/usr/bin/env"),
    [
      "make", "-C", example.path, "ENTK=\(TestEnvironment.entkExecutable.path)", "OUT=\(out.path)",
      "TRAIN_SAMPLES=400", "TEST_SAMPLES=20",
    ],
    environment: ["MAKEFLAGS": "", "MFLAGS": "", "MAKELEVEL": ""])
  try #require(run.status == 0, "\(run.stdout)\n\(run.stderr)")
  let precision =
    try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("precision.json")))
    as? [String: [String: Any]] ?? [:]
  let poisonedIndices = Set(
    try NPYFile.read(out.appendingPathComponent("data/poisoned.npy")).int64Values().map { Int($0) })
  #expect(poisonedIndices.count == 12)  // 3% of 400

  func precisionAt(_ k: String, _ model: String) -> Double {
    (precision[model]?["precisionAtK"] as? [String: Double])?[k] ?? .nan
  }
  for model in ["poisoned", "clean"] {
    // The same precision from attributions.json: the listed proponents of the network's prediction.
    let attributions =
      try JSONSerialization.jsonObject(
        with: Data(contentsOf: out.appendingPathComponent("\(model)-bundle/attributions.json"))) as? [String: Any]
    let points = attributions?["testPoints"] as? [[String: Any]] ?? []
    #expect(points.count == 20)
    var found = 0
    for point in points {
      let predicted = point["networkPrediction"] as? Int ?? -1
      let classes = point["classes"] as? [[String: Any]] ?? []
      let listed = (classes[predicted]["proponents"] as? [[String: Any]] ?? []).prefix(5)
      #expect(listed.count == 5)
      found += listed.filter { poisonedIndices.contains($0["trainIndex"] as? Int ?? -1) }.count
    }
    #expect(abs(precisionAt("5", model) - Double(found) / 100) < 1e-12, "\(model)")
  }
  #expect(precisionAt("10", "poisoned") >= 0.5)
  #expect(precisionAt("10", "clean") == 0)
  #expect((precision["poisoned"]?["attackSuccessRate"] as? Double ?? 0) > 0.5)
  #expect((precision["clean"]?["attackSuccessRate"] as? Double ?? 1) == 0)
}
