import ArrayIO
import EntkTestSupport
import Foundation
import Testing

/// `entk evaluate remove` on 40 digits: the removed proponents are the bundle's listed top
/// proponents of the label, the control removes as many points, and the model without the
/// proponents is the one `entk train` makes on the remaining points with the same settings.
@Test func removeRetrainsWithoutTheListedProponents() throws {
  let fixture = try LDSFixture()
  defer { fixture.data.remove() }
  let data = fixture.data
  try fixture.attribute(out: "bundle")
  let common = [
    "evaluate", "remove", "--bundle", data.path("bundle"), "--backend", "swiftnet", "--train-x",
    data.path("train_x.npy"), "--train-y", data.path("train_y.npy"), "--test-x", data.path("test_x.npy"), "--test-y",
    data.path("test_y.npy"), "--arch", TinyDigits.architecture, "--epochs", "5", "--seed", "0",
  ]
  let result = try runEntk(common + ["--test-index", "2", "--top-k", "4", "--out", data.path("removed")])
  #expect(result.status == 0, "\(result.stderr)")

  let attributions = try data.json("bundle/attributions.json")
  let point = (attributions["testPoints"] as? [[String: Any]] ?? [])[2]
  let label = point["label"] as? Int ?? -1
  let classes = point["classes"] as? [[String: Any]] ?? []
  let listed = (classes[label]["proponents"] as? [[String: Any]] ?? []).prefix(4).compactMap {
    $0["trainIndex"] as? Int
  }
  let removal = (try data.json("bundle/metrics.json")["evaluation"] as? [String: Any])?["removal"] as? [String: Any]
  let record = (removal?["points"] as? [[String: Any]] ?? []).first
  let proponents = record?["proponents"] as? [String: Any]
  let random = record?["random"] as? [String: Any]
  #expect(proponents?["removed"] as? [Int] == listed.sorted())
  #expect((random?["removed"] as? [Int])?.count == listed.count)
  let full = record?["fullMargin"] as? Double ?? .nan
  #expect(abs((proponents?["margin"] as? Double ?? .nan) - full - (proponents?["change"] as? Double ?? .nan)) < 1e-12)

  // The same training, by `entk train`, on the points that remain.
  let x = try NPYFile.read(URL(fileURLWithPath: data.path("train_x.npy"))).float32Values()
  let y = try NPYFile.read(URL(fileURLWithPath: data.path("train_y.npy"))).int64Values()
  let kept = (0..<data.trainCount).filter { !listed.contains($0) }
  try NPYFile.write(
    NPYArray(float32: kept.flatMap { x[($0 * 64)..<(($0 + 1) * 64)] }, shape: [kept.count, 1, 8, 8]),
    to: URL(fileURLWithPath: data.path("kept_x.npy")))
  try NPYFile.write(
    NPYArray(int64: kept.map { y[$0] }, shape: [kept.count]), to: URL(fileURLWithPath: data.path("kept_y.npy")))
  let trained = try runEntk([
    "train", "--backend", "swiftnet", "--arch", TinyDigits.architecture, "--train-x", data.path("kept_x.npy"),
    "--train-y", data.path("kept_y.npy"), "--epochs", "5", "--seed", "0", "--out", data.path("kept-model"),
  ])
  #expect(trained.status == 0, "\(trained.stderr)")
  let retrained = data.directory.appendingPathComponent("removed/test-2-proponents")
  let weights = try FileManager.default.contentsOfDirectory(atPath: retrained.path).filter { $0.hasSuffix(".npy") }
  #expect(weights.count == 6)  // weight and bias of fc1, fc2, out
  for file in weights {
    let a = try Data(contentsOf: retrained.appendingPathComponent(file))
    let b = try Data(contentsOf: data.directory.appendingPathComponent("kept-model/\(file)"))
    #expect(a == b, "\(file) differs from entk train's")
  }
  let validation = try fixture.python("validate_bundle.py", [data.path("bundle")])
  #expect(validation.status == 0, "\(validation.stderr)")

  let outside = try runEntk(common + ["--test-index", "99", "--out", data.path("outside")])
  #expect(outside.status == 3 && outside.stderr.contains("--test-index 99 is outside 0..<8"), "\(outside.stderr)")
  let unknown = try runEntk(common + ["--test-index", "0", "--method", "grad-cos", "--out", data.path("unknown")])
  #expect(unknown.status == 3 && unknown.stderr.contains("it has no method grad-cos"), "\(unknown.stderr)")
  #expect(try runEntk(common + ["--out", data.path("none")]).status == 2)
}
