import ArrayIO
import EntkTestSupport
import Foundation
import Testing

/// `entk evaluate` end to end on 40 digits with the swiftnet MLP: plan, retrain (resumably), score.
struct LDSFixture {
  let data: TinyDigits
  let model: String

  init(label: String = #function) throws {
    data = try TinyDigits(trainCount: 40, testCount: 8, label: label)
    model = try data.trainModel("model", seed: 0, epochs: 5)
  }

  /// `entk evaluate subsets` arguments for the backend's train call with the original settings.
  func subsets(_ extra: [String], out: String = "subsets") -> [String] {
    [
      "evaluate", "subsets", "--backend", "swiftnet", "--train", data.path("train_x.npy"), "--train-labels",
      data.path("train_y.npy"), "--test", data.path("test_x.npy"), "--test-labels", data.path("test_y.npy"),
      "--out", data.path(out),
    ] + extra
  }

  var training: [String] { ["--model", TinyDigits.architecture, "--epochs", "5", "--seed", "0"] }

  func attribute(out: String) throws {
    let result = try runEntk([
      "attribute", "--kind", "trntk", "--backend", "swiftnet", "--model", model, "--train", data.path("train_x.npy"),
      "--test", data.path("test_x.npy"), "--train-labels", data.path("train_y.npy"), "--test-labels",
      data.path("test_y.npy"), "--baseline", "grad-dot", "--threads", "1", "--out", data.path(out),
    ])
    #expect(result.status == 0, "\(result.stderr)")
  }

  /// Validates the JSON file at `path` against schemas/NAME.schema.json with Python's jsonschema.
  func validate(_ path: String, schema name: String) throws -> CommandResult {
    try runCommand(
      URL(fileURLWithPath: "/usr/bin/env"),
      [
        "python3", "-c",
        "import json, sys, jsonschema; jsonschema.validate(json.load(open(sys.argv[2])), json.load(open(sys.argv[1])))",
        TestEnvironment.repositoryRoot.appendingPathComponent("schemas/\(name).schema.json").path, path,
      ])
  }

  func python(_ script: String, _ arguments: [String]) throws -> CommandResult {
    try runCommand(
      URL(fileURLWithPath: "/usr/bin/env"),
      ["python3", TestEnvironment.repositoryRoot.appendingPathComponent("tools/\(script)").path] + arguments)
  }
}

/// The LDS written into two bundles equals tools/lds_reference.py's recomputation with scipy from
/// the retrained subsets' logits and indices and the bundles' own files; the bundles stay valid.
@Test func ldsEqualsScipyRecomputationAndGoesIntoTheBundles() throws {
  let fixture = try LDSFixture()
  defer { fixture.data.remove() }
  let data = fixture.data
  #expect(try runEntk(fixture.subsets(fixture.training + ["--subsets", "6"])).status == 0)
  try fixture.attribute(out: "one")
  try fixture.attribute(out: "two")
  let result = try runEntk([
    "evaluate", "lds", data.path("subsets"), "--bundle", data.path("one"), "--bundle", data.path("two"), "--json",
  ])
  #expect(result.status == 0, "\(result.stderr)")
  #expect(result.stderr.contains("retraining subset 5 (6 of 6 to do)"), "\(result.stderr)")
  let reference = try fixture.python("lds_reference.py", [data.path("subsets"), data.path("one")])
  #expect(reference.status == 0, "\(reference.stderr)")
  var expected: [String: Double] = [:]
  for line in reference.stdout.split(separator: "\n") {
    let parts = line.split(separator: " ")
    if parts.count == 2, let value = Double(parts[1]) { expected[String(parts[0])] = value }
  }
  #expect(expected.keys.sorted() == ["grad-dot", "kglm"])
  for bundle in ["one", "two"] {
    let metrics = try data.json("\(bundle)/metrics.json")
    let evaluation = metrics["evaluation"] as? [String: Any]
    let lds = evaluation?["lds"] as? [[String: Any]] ?? []
    #expect(lds.count == 2)
    for record in lds {
      let method = record["method"] as? String ?? ""
      let value = record["value"] as? Double ?? .nan
      #expect(abs(value - (expected[method] ?? .infinity)) < 1e-12, "\(bundle) \(method): \(value) vs \(expected)")
      let interval = record["interval"] as? [String: Any]
      #expect((interval?["lower"] as? Double ?? 2) <= value && value <= (interval?["upper"] as? Double ?? -2))
    }
    let validation = try fixture.python("validate_bundle.py", [data.path(bundle)])
    #expect(validation.status == 0, "\(validation.stderr)")
    #expect(
      try String(contentsOfFile: data.path("\(bundle)/report.html"), encoding: .utf8).contains(
        "Linear datamodeling score"))
  }
  let schema = try fixture.validate(data.path("subsets/subsets.json"), schema: "subsets")
  #expect(schema.status == 0, "\(schema.stderr)")
  // The models are cached: scoring again retrains nothing.
  let again = try runEntk(["evaluate", "lds", data.path("subsets"), "--bundle", data.path("one")])
  #expect(again.status == 0, "\(again.stderr)")
  #expect(!again.stderr.contains("retraining"), "\(again.stderr)")
}

/// An interrupted retraining resumes: a subset without done.json is retrained, alone, to the same
/// margins (training is seeded); --subset retrains one subset as the Makefile's targets do.
@Test func retrainingResumesOnlyUnfinishedSubsets() throws {
  let fixture = try LDSFixture()
  defer { fixture.data.remove() }
  let data = fixture.data
  #expect(try runEntk(fixture.subsets(fixture.training + ["--subsets", "3"])).status == 0)
  let makefile = try String(contentsOfFile: data.path("subsets/Makefile"), encoding: .utf8)
  #expect(makefile.contains("$(DIR)/subset-002/done.json"))
  #expect(try runEntk(["evaluate", "retrain", data.path("subsets"), "--subset", "1"]).status == 0)
  #expect(FileManager.default.fileExists(atPath: data.path("subsets/subset-001/done.json")))
  #expect(!FileManager.default.fileExists(atPath: data.path("subsets/subset-000/done.json")))
  // The generated Makefile trains the other two, two at a time.
  let make = try runCommand(
    URL(fileURLWithPath: "/usr/bin/env"), ["make", "-j2", "-f", data.path("subsets/Makefile")],
    environment: ["MAKEFLAGS": "", "MFLAGS": "", "MAKELEVEL": ""])
  #expect(make.status == 0, "\(make.stdout)\n\(make.stderr)")
  for k in ["000", "002"] {
    #expect(FileManager.default.fileExists(atPath: data.path("subsets/subset-\(k)/done.json")))
  }
  let margins = try NPYFile.read(URL(fileURLWithPath: data.path("subsets/subset-002/margins.npy"))).float64Values()
  try FileManager.default.removeItem(atPath: data.path("subsets/subset-002/done.json"))
  let resumed = try runEntk(["evaluate", "retrain", data.path("subsets")])
  #expect(resumed.status == 0)
  #expect(resumed.stderr.contains("retraining subset 2 (1 of 1 to do)"), "\(resumed.stderr)")
  let again = try NPYFile.read(URL(fileURLWithPath: data.path("subsets/subset-002/margins.npy"))).float64Values()
  #expect(again == margins)
  let outside = try runEntk(["evaluate", "retrain", data.path("subsets"), "--subset", "3"])
  #expect(outside.status == 3 && outside.stderr.contains("--subset 3 is outside 0..<3"), "\(outside.stderr)")
}

/// A retrain command (here `entk train` itself, on the subset's files, with the subset's seed)
/// gives the same margins as the backend's train call with the same settings.
@Test func retrainCommandMatchesTheBackendTrainCall() throws {
  let fixture = try LDSFixture()
  defer { fixture.data.remove() }
  let data = fixture.data
  let command =
    "'\(TestEnvironment.entkExecutable.path)' train --backend swiftnet --model '\(TinyDigits.architecture)' "
    + "--train {subset}/train_x.npy --train-labels {subset}/train_y.npy --epochs 5 --seed {seed} --out {model}"
  #expect(try runEntk(fixture.subsets(["--retrain-command", command, "--subsets", "2"], out: "command")).status == 0)
  #expect(try runEntk(fixture.subsets(fixture.training + ["--subsets", "2"], out: "backend")).status == 0)
  for folder in ["command", "backend"] {
    let result = try runEntk(["evaluate", "retrain", data.path(folder)])
    #expect(result.status == 0, "\(result.stderr)")
  }
  for k in ["000", "001"] {
    let a = try NPYFile.read(URL(fileURLWithPath: data.path("command/subset-\(k)/margins.npy"))).float64Values()
    let b = try NPYFile.read(URL(fileURLWithPath: data.path("backend/subset-\(k)/margins.npy"))).float64Values()
    #expect(a == b && a.count == data.testCount)
  }
}

/// Bad options are usage errors (2) before anything is written; a failing retrain command, a
/// bundle of other data and unfinished subsets are refused (3) without half-written outputs.
@Test func evaluateRefusesBadInput() throws {
  let fixture = try LDSFixture()
  defer { fixture.data.remove() }
  let data = fixture.data
  for (extra, message) in [
    (fixture.training + ["--fraction", "1.5"], "--fraction must be strictly between 0 and 1"),
    (fixture.training + ["--subsets", "1"], "--subsets must be at least 2"),
    (["--retrain-command", "true"], "--retrain-command must contain {model}"),
    ([] as [String], "give either --model"),
  ] {
    let result = try runEntk(fixture.subsets(extra, out: "bad"))
    #expect(result.status == 2, "\(extra)")
    #expect(result.stderr.contains(message), "\(result.stderr)")
    #expect(!FileManager.default.fileExists(atPath: data.path("bad")))
  }

  #expect(
    try runEntk(fixture.subsets(["--retrain-command", "echo failing >&2; exit 7 {model}"], out: "fails")).status == 0)
  let failed = try runEntk(["evaluate", "retrain", data.path("fails")])
  #expect(failed.status == 3)
  #expect(failed.stderr.contains("subset 0: the retrain command exited with status 7"), "\(failed.stderr)")
  let subset = data.path("fails/subset-000")
  #expect(!FileManager.default.fileExists(atPath: subset + "/done.json"))
  #expect(!FileManager.default.fileExists(atPath: subset + "/model"))
  let leftovers = try FileManager.default.contentsOfDirectory(atPath: subset).filter { $0.hasPrefix("model") }
  #expect(leftovers.isEmpty, "\(leftovers)")

  // Test labels outside the model's classes stop the retraining with the file's problem.
  try NPYFile.write(
    NPYArray(int64: [Int64](repeating: 12, count: data.testCount), shape: [data.testCount]),
    to: URL(fileURLWithPath: data.path("bad_y.npy")))
  let badLabels = fixture.subsets(
    fixture.training + ["--subsets", "2", "--test-labels", data.path("bad_y.npy")], out: "badlabels")
  #expect(try runEntk(badLabels).status == 0)
  let outOfRange = try runEntk(["evaluate", "retrain", data.path("badlabels")])
  #expect(
    outOfRange.status == 3 && outOfRange.stderr.contains("label 12 at index 0 is outside 0..<10"),
    "\(outOfRange.stderr)")
  #expect(!FileManager.default.fileExists(atPath: data.path("badlabels/subset-000/done.json")))
  // An architecture the backend cannot open is refused when planning.
  let noArch = try runEntk(
    fixture.subsets(["--model", data.path("missing.json"), "--subsets", "2"], out: "noarch"))
  #expect(noArch.status == 4 && noArch.stderr.contains("missing.json"), "\(noArch.stderr)")
  #expect(!FileManager.default.fileExists(atPath: data.path("noarch/subsets.json")))

  // Planning the same folder again with other settings is refused.
  #expect(try runEntk(fixture.subsets(fixture.training + ["--subsets", "2"])).status == 0)
  let changed = try runEntk(fixture.subsets(fixture.training + ["--subsets", "3"]))
  #expect(changed.status == 3 && changed.stderr.contains("different subset count"), "\(changed.stderr)")

  // A bundle on other test data is refused before any retraining.
  try fixture.attribute(out: "bundle")
  try NPYFile.write(
    NPYArray(int64: (0..<Int64(data.testCount)).map { ($0 + 1) % 10 }, shape: [data.testCount]),
    to: URL(fileURLWithPath: data.path("other_y.npy")))
  let other = try runEntk(
    fixture.subsets(fixture.training + ["--subsets", "2", "--test-labels", data.path("other_y.npy")], out: "other"))
  #expect(other.status == 0, "\(other.stderr)")
  let mismatch = try runEntk(["evaluate", "lds", data.path("other"), "--bundle", data.path("bundle")])
  #expect(mismatch.status == 3)
  #expect(mismatch.stderr.contains("its test labels differ"), "\(mismatch.stderr)")
  #expect(!mismatch.stderr.contains("retraining"))
  #expect(try runEntk(["evaluate", "lds", data.path("subsets")]).status == 2)
}
