import ArrayIO
import EntkTestSupport
import Foundation
import Testing

/// `entk evaluate remove` of the bundle `bundle` on the data, trained as the fixture's model was.
private func removeArguments(_ data: TinyDigits) -> [String] {
  [
    "evaluate", "remove", "--bundle", data.path("bundle"), "--backend", "swiftnet", "--train",
    data.path("train_x.npy"), "--train-labels", data.path("train_y.npy"), "--test", data.path("test_x.npy"),
    "--test-labels",
    data.path("test_y.npy"), "--model", TinyDigits.architecture, "--epochs", "5", "--seed", "0",
  ]
}

/// `entk evaluate remove` on 40 digits: the removed proponents are the bundle's listed top
/// proponents of the label, the control removes as many points, and the model without the
/// proponents is the one `entk train` makes on the remaining points with the same settings.
@Test func removeRetrainsWithoutTheListedProponents() throws {
  let fixture = try LDSFixture()
  defer { fixture.data.remove() }
  let data = fixture.data
  try fixture.attribute(out: "bundle")
  let common = removeArguments(data)
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
    "train", "--backend", "swiftnet", "--model", TinyDigits.architecture, "--train", data.path("kept_x.npy"),
    "--train-labels", data.path("kept_y.npy"), "--epochs", "5", "--seed", "0", "--out", data.path("kept-model"),
  ])
  #expect(trained.status == 0, "\(trained.stderr)")
  let retrained = data.directory.appendingPathComponent("removed/subset-001/model")
  let weights = try FileManager.default.contentsOfDirectory(atPath: retrained.path).filter { $0.hasSuffix(".npy") }
  #expect(weights.count == 6)  // weight and bias of fc1, fc2, out
  for file in weights {
    let a = try Data(contentsOf: retrained.appendingPathComponent(file))
    let b = try Data(contentsOf: data.directory.appendingPathComponent("kept-model/\(file)"))
    #expect(a == b, "\(file) differs from entk train's")
  }
  let validation = try fixture.python("validate_bundle.py", [data.path("bundle")])
  #expect(validation.status == 0, "\(validation.stderr)")

  let schema = try fixture.validate(data.path("removed/subsets.json"), schema: "subsets")
  #expect(schema.status == 0, "\(schema.stderr)")

  let outside = try runEntk(common + ["--test-index", "99", "--out", data.path("outside")])
  #expect(outside.status == 3 && outside.stderr.contains("--test-index 99 is outside 0..<8"), "\(outside.stderr)")
  let unknown = try runEntk(common + ["--test-index", "0", "--method", "grad-cos", "--out", data.path("unknown")])
  #expect(unknown.status == 3 && unknown.stderr.contains("it has no method grad-cos"), "\(unknown.stderr)")
  #expect(try runEntk(common + ["--out", data.path("none")]).status == 2)
}

/// `entk evaluate remove` resumes a planned folder, training only its unfinished models.
///
/// `--plan-only` writes the plan; with one model trained (as a Slurm task would), the Makefile's
/// dry run lists only the two others, and the command run again trains exactly those and scores;
/// a third run trains nothing. Another --top-k is refused in that folder, and lds refuses it.
@Test func removeResumesAPlannedFolder() throws {
  let fixture = try LDSFixture()
  defer { fixture.data.remove() }
  let data = fixture.data
  try fixture.attribute(out: "bundle")
  let command = removeArguments(data) + ["--test-index", "3", "--top-k", "3", "--out", data.path("removed")]
  let planned = try runEntk(command + ["--plan-only"])
  #expect(planned.status == 0, "\(planned.stderr)")
  #expect(!planned.stderr.contains("retraining"), "\(planned.stderr)")
  #expect(!FileManager.default.fileExists(atPath: data.path("removed/subset-000")))
  let description = try data.json("removed/subsets.json")
  let names = (description["models"] as? [[String: Any]] ?? []).compactMap { $0["name"] as? String }
  #expect(names == ["full", "test-3-proponents", "test-3-random"])
  #expect(try runEntk(["evaluate", "retrain", data.path("removed"), "--subset", "1"]).status == 0)

  let dryRun = try runCommand(
    URL(fileURLWithPath: "/usr/bin/env"), ["make", "-n", "-f", data.path("removed/Makefile")],
    environment: ["MAKEFLAGS": "", "MFLAGS": "", "MAKELEVEL": ""])
  #expect(dryRun.status == 0, "\(dryRun.stderr)")
  let commands = dryRun.stdout.split(separator: "\n").filter { $0.contains("evaluate retrain") }
  #expect(
    commands.count == 2 && commands[0].hasSuffix("--subset 000") && commands[1].hasSuffix("--subset 002"),
    "\(dryRun.stdout)")

  let resumed = try runEntk(command)
  #expect(resumed.status == 0, "\(resumed.stderr)")
  #expect(resumed.stderr.contains("retraining subset 0 (1 of 2 to do)"), "\(resumed.stderr)")
  #expect(resumed.stderr.contains("retraining subset 2 (2 of 2 to do)"), "\(resumed.stderr)")
  #expect(!resumed.stderr.contains("retraining subset 1"), "\(resumed.stderr)")
  let removal = (try data.json("bundle/metrics.json")["evaluation"] as? [String: Any])?["removal"] as? [String: Any]
  let point = (removal?["points"] as? [[String: Any]] ?? []).first
  let margins = try (0..<3).map { k in
    try NPYFile.read(URL(fileURLWithPath: data.path("removed/subset-00\(k)/margins.npy"))).float64Values()[3]
  }
  // (JSON keeps 16 significant digits here.)
  let recorded = [
    point?["fullMargin"], (point?["proponents"] as? [String: Any])?["margin"],
    (point?["random"] as? [String: Any])?["margin"],
  ].map { $0 as? Double ?? .nan }
  for (value, margin) in zip(recorded, margins) { #expect(abs(value - margin) < 1e-12, "\(recorded) \(margins)") }

  let again = try runEntk(command)
  #expect(again.status == 0 && !again.stderr.contains("retraining"), "\(again.stderr)")
  let lds = try runEntk(["evaluate", "lds", data.path("removed"), "--bundle", data.path("bundle")])
  #expect(lds.status == 3 && lds.stderr.contains("not trained on random subsets"), "\(lds.stderr)")
  // An edited plan whose subsets are undefined is refused, not followed.
  var edited = description
  edited["models"] = [["name": "full", "removed": [999], "seed": 0]]
  edited["subsetCount"] = 1
  try FileManager.default.createDirectory(atPath: data.path("edited"), withIntermediateDirectories: true)
  try JSONSerialization.data(withJSONObject: edited).write(to: URL(fileURLWithPath: data.path("edited/subsets.json")))
  let refused = try runEntk(["evaluate", "retrain", data.path("edited")])
  #expect(refused.status == 3 && refused.stderr.contains("a removed index outside 0..<40"), "\(refused.stderr)")
  let changed = try runEntk(command.dropLast(4) + ["--top-k", "2", "--out", data.path("removed")])
  #expect(changed.status == 3 && changed.stderr.contains("different set of models"), "\(changed.stderr)")
}
