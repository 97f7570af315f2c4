import ArrayIO
import EntkTestSupport
import Foundation
import Testing

/// `entk evaluate mislabel` on 60 digits with 20% flipped labels, trained by its plan's Makefile.
///
/// The model is planned with --plan-only and trained by the Makefile; the flips are exactly the
/// listed points, and both AUCs in the bundle equal tools/mislabel_reference.py's recomputation
/// (numpy self-influences, scipy's Mann–Whitney U). Run again, it neither retrains nor attributes
/// again; other flips in the same folder are refused without touching its labels.
@Test func mislabelAUCsEqualScipyRecomputation() throws {
  let data = try TinyDigits(trainCount: 60, testCount: 8)
  defer { data.remove() }
  let command = [
    "evaluate", "mislabel", "--backend", "swiftnet", "--model", TinyDigits.architecture, "--epochs", "5",
    "--train", data.path("train_x.npy"), "--train-labels", data.path("train_y.npy"), "--test", data.path("test_x.npy"),
    "--test-labels", data.path("test_y.npy"), "--fraction", "0.2", "--flip-seed", "3", "--threads", "1", "--out",
    data.path("mislabel"),
  ]
  let planned = try runEntk(command + ["--plan-only"])
  #expect(planned.status == 0 && !planned.stderr.contains("retraining"), "\(planned.stderr)")
  #expect(!FileManager.default.fileExists(atPath: data.path("mislabel/bundle")))
  let make = try runCommand(
    URL(fileURLWithPath: "/usr/bin/env"), ["make", "-f", data.path("mislabel/Makefile")],
    environment: ["MAKEFLAGS": "", "MFLAGS": "", "MAKELEVEL": ""])
  #expect(make.status == 0, "\(make.stdout)\n\(make.stderr)")
  #expect(FileManager.default.fileExists(atPath: data.path("mislabel/subset-000/done.json")))
  let result = try runEntk(command)
  #expect(result.status == 0, "\(result.stderr)")
  #expect(!result.stderr.contains("retraining"), "\(result.stderr)")
  let clean = try NPYFile.read(URL(fileURLWithPath: data.path("train_y.npy"))).int64Values()
  let noisy = try NPYFile.read(URL(fileURLWithPath: data.path("mislabel/noisy_train_y.npy"))).int64Values()
  let flipped = try NPYFile.read(URL(fileURLWithPath: data.path("mislabel/flipped.npy"))).int64Values()
  #expect(flipped.count == 12)
  #expect((0..<60).filter { clean[$0] != noisy[$0] }.map { Int64($0) } == flipped)

  let expected = try referenceAUCs(data, folder: "mislabel")
  let aucs = try bundleAUCs(data, folder: "mislabel")
  #expect(aucs.count == 2 && expected.count == 2)
  for (name, auc) in aucs {
    #expect(abs(auc - (expected[name] ?? .infinity)) < 1e-9, "\(name): \(auc) vs \(expected)")
  }
  let validation = try runCommand(
    URL(fileURLWithPath: "/usr/bin/env"),
    [
      "python3", TestEnvironment.repositoryRoot.appendingPathComponent("tools/validate_bundle.py").path,
      data.path("mislabel/bundle"),
    ])
  #expect(validation.status == 0, "\(validation.stderr)")
  #expect(result.stdout.contains("found after 5%"))
  try expectSubsetsSchema(data.path("mislabel/subsets.json"))
  let again = try runEntk(command)
  #expect(again.status == 0 && again.stdout.hasPrefix("method\tAUC") && result.stdout.hasSuffix(again.stdout))
  #expect(!again.stderr.contains("retraining") && !again.stderr.contains("attribute:"), "\(again.stderr)")
  // Other flips in the same folder are refused, and the folder's labels are kept.
  let labels = try Data(contentsOf: URL(fileURLWithPath: data.path("mislabel/noisy_train_y.npy")))
  let other = try runEntk(command.map { $0 == "3" ? "4" : $0 })
  #expect(other.status == 3 && other.stderr.contains("different training data"), "\(other.stderr)")
  #expect(try Data(contentsOf: URL(fileURLWithPath: data.path("mislabel/noisy_train_y.npy"))) == labels)
  let bad = try runEntk([
    "evaluate", "mislabel", "--backend", "swiftnet", "--model", TinyDigits.architecture, "--train",
    data.path("train_x.npy"), "--train-labels", data.path("train_y.npy"), "--test", data.path("test_x.npy"),
    "--test-labels",
    data.path("test_y.npy"), "--fraction", "0", "--out", data.path("bad"),
  ])
  #expect(bad.status == 2 && bad.stderr.contains("--fraction must be strictly between 0 and 1"))
  #expect(!FileManager.default.fileExists(atPath: data.path("bad")))
}

/// A --retrain-command's model is loaded with the ONNX backend, trained once.
///
/// The command (here one that copies examples/digits/cnn.onnx into {model} and logs {seed}) is
/// planned with --plan-only and run once by the plan's Makefile, on the folder holding the flipped
/// labels; the command then neither reruns it nor, run again, attributes again. The kGLM's AUC
/// equals tools/mislabel_reference.py's numpy/scipy recomputation.
@Test func mislabelRetrainCommandTrainsOnceAndIsLoadedByTheBackend() throws {
  let data = try TinyDigits(trainCount: 60, testCount: 8)
  defer { data.remove() }
  let onnx = TestEnvironment.repositoryRoot.appendingPathComponent("examples/digits/cnn.onnx").path
  let template = "cp '\(onnx)' {model} && echo {seed} >> '\(data.path("runs.txt"))'"
  let command = [
    "evaluate", "mislabel", "--backend", "onnx", "--retrain-command", template, "--seed", "7",
    "--train", data.path("train_x.npy"), "--train-labels", data.path("train_y.npy"), "--test", data.path("test_x.npy"),
    "--test-labels", data.path("test_y.npy"), "--fraction", "0.2", "--flip-seed", "3", "--threads", "1", "--out",
    data.path("mislabel"),
  ]
  let planned = try runEntk(command + ["--plan-only"])
  #expect(planned.status == 0 && !FileManager.default.fileExists(atPath: data.path("runs.txt")), "\(planned.stderr)")
  let make = try runCommand(
    URL(fileURLWithPath: "/usr/bin/env"), ["make", "-f", data.path("mislabel/Makefile")],
    environment: ["MAKEFLAGS": "", "MFLAGS": "", "MAKELEVEL": ""])
  #expect(make.status == 0, "\(make.stdout)\n\(make.stderr)")
  #expect(try String(contentsOfFile: data.path("runs.txt"), encoding: .utf8) == "7\n")
  let result = try runEntk(command)
  #expect(result.status == 0 && !result.stderr.contains("retraining"), "\(result.stderr)")
  try expectSubsetsSchema(data.path("mislabel/subsets.json"))
  let noisy = try NPYFile.read(URL(fileURLWithPath: data.path("mislabel/noisy_train_y.npy"))).int64Values()
  let given = try NPYFile.read(URL(fileURLWithPath: data.path("mislabel/subset-000/train_y.npy"))).int64Values()
  let clean = try NPYFile.read(URL(fileURLWithPath: data.path("train_y.npy"))).int64Values()
  #expect(given == noisy && (0..<60).filter { clean[$0] != noisy[$0] }.count == 12)
  let expected = try referenceAUCs(data, folder: "mislabel")
  let aucs = try bundleAUCs(data, folder: "mislabel")
  #expect(Set(aucs.keys) == ["kglm", "grad-dot"])
  #expect(abs((aucs["kglm"] ?? .nan) - (expected["kglm"] ?? .infinity)) < 1e-9, "\(aucs) vs \(expected)")
  let manifest = try data.json("mislabel/bundle/manifest.json")
  let recorded = (manifest["models"] as? [[String: Any]])?.first
  #expect(recorded?["backend"] as? String == "onnx", "\(manifest["models"] ?? "")")

  let again = try runEntk(command)
  #expect(again.status == 0 && result.stdout.hasSuffix(again.stdout) && again.stdout.hasPrefix("method\tAUC"))
  #expect(!again.stderr.contains("retraining") && !again.stderr.contains("attribute:"), "\(again.stderr)")
  #expect(try String(contentsOfFile: data.path("runs.txt"), encoding: .utf8) == "7\n")
}

/// Training options are exactly one of --model and a --retrain-command that writes {model} (2,
/// nothing written); a failing command stops the run (3) with its status, leaving no model,
/// no finished subset and no bundle.
@Test func mislabelRefusesBadRetrainCommands() throws {
  let data = try TinyDigits(trainCount: 20, testCount: 4)
  defer { data.remove() }
  let common = [
    "evaluate", "mislabel", "--backend", "onnx", "--train", data.path("train_x.npy"), "--train-labels",
    data.path("train_y.npy"), "--test", data.path("test_x.npy"), "--test-labels", data.path("test_y.npy"),
  ]
  for (extra, message) in [
    (["--retrain-command", "touch out.onnx"], "--retrain-command must contain {model}"),
    (["--retrain-command", "touch {model}", "--model", TinyDigits.architecture], "give either --model"),
    ([] as [String], "give either --model"),
  ] {
    let result = try runEntk(common + extra + ["--out", data.path("bad")])
    #expect(result.status == 2 && result.stderr.contains(message), "\(extra): \(result.stderr)")
    #expect(!FileManager.default.fileExists(atPath: data.path("bad")))
  }
  let failed = try runEntk(
    common + ["--retrain-command", "echo failing >&2; touch {model}; exit 7", "--out", data.path("fails")])
  #expect(failed.status == 3, "\(failed.stderr)")
  #expect(failed.stderr.contains("subset 0: the retrain command exited with status 7"), "\(failed.stderr)")
  let subset = data.path("fails/subset-000")
  let models = try FileManager.default.contentsOfDirectory(atPath: subset).filter { $0.hasPrefix("model") }
  #expect(models.isEmpty, "\(models)")
  #expect(!FileManager.default.fileExists(atPath: subset + "/done.json"))
  #expect(!FileManager.default.fileExists(atPath: data.path("fails/bundle")))
}

/// The AUC of each method in the bundle's metrics.
private func bundleAUCs(_ data: TinyDigits, folder: String) throws -> [String: Double] {
  let evaluation = try data.json("\(folder)/bundle/metrics.json")["evaluation"] as? [String: Any]
  let methods = (evaluation?["mislabel"] as? [String: Any])?["methods"] as? [[String: Any]] ?? []
  var aucs: [String: Double] = [:]
  for method in methods {
    aucs[method["method"] as? String ?? ""] = (method["curve"] as? [String: Any])?["auc"] as? Double ?? .nan
  }
  return aucs
}

/// tools/mislabel_reference.py's AUCs of the folder (numpy and scipy).
private func referenceAUCs(_ data: TinyDigits, folder: String) throws -> [String: Double] {
  let reference = try runCommand(
    URL(fileURLWithPath: "/usr/bin/env"),
    [
      "python3", TestEnvironment.repositoryRoot.appendingPathComponent("tools/mislabel_reference.py").path,
      data.path(folder), data.path("train_x.npy"),
    ])
  #expect(reference.status == 0, "\(reference.stderr)")
  var expected: [String: Double] = [:]
  for line in reference.stdout.split(separator: "\n") {
    let parts = line.split(separator: " ")
    if parts.count == 2, let value = Double(parts[1]) { expected[String(parts[0])] = value }
  }
  return expected
}

/// Expects the `subsets.json` at `path` to validate against schemas/subsets.schema.json.
private func expectSubsetsSchema(_ path: String) throws {
  let schema = try runCommand(
    URL(fileURLWithPath: "/usr/bin/env"),
    [
      "python3", "-c",
      "import json, sys, jsonschema; jsonschema.validate(json.load(open(sys.argv[2])), json.load(open(sys.argv[1])))",
      TestEnvironment.repositoryRoot.appendingPathComponent("schemas/subsets.schema.json").path, path,
    ])
  #expect(schema.status == 0, "\(schema.stderr)")
}
