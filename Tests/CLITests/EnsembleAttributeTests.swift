import ArrayIO
import EntkTestSupport
import Foundation
import Testing

/// `entk attribute --model A --model B`: the bundle's kernels are the element-wise means of the two
/// models' own kernels and its network logits the mean of their logits, each model computed alone
/// by a separate run; both models are recorded.
@Test func ensembleAveragesKernelsAndLogitsOfSeparateRuns() throws {
  let data = try TinyDigits()
  defer { data.remove() }
  let models = [try data.trainModel("a", seed: 1), try data.trainModel("b", seed: 2)]
  func attribute(_ modelArguments: [String], out: String) throws {
    let result = try runEntk(
      [
        "attribute", "--kind", "trntk", "--backend", "swiftnet", "--train", data.path("train_x.npy"), "--test",
        data.path("test_x.npy"), "--train-labels", data.path("train_y.npy"), "--test-labels", data.path("test_y.npy"),
        "--threads", "1", "--out", data.path(out),
      ] + modelArguments)
    #expect(result.status == 0, "\(result.stderr)")
  }
  try attribute(["--model", models[0]], out: "single-a")
  try attribute(["--model", models[1]], out: "single-b")
  try attribute(["--model", models[0], "--model", models[1]], out: "ensemble")

  for file in ["train_kernel.npy", "test_kernel.npy", "network_test_logits.npy"] {
    let a = try NPYFile.read(URL(fileURLWithPath: data.path("single-a/\(file)"))).float32Values()
    let b = try NPYFile.read(URL(fileURLWithPath: data.path("single-b/\(file)"))).float32Values()
    let mean = try NPYFile.read(URL(fileURLWithPath: data.path("ensemble/\(file)"))).float32Values()
    #expect(mean.count == a.count)
    var worst = 0.0
    for index in mean.indices {
      let expected = (Double(a[index]) + Double(b[index])) / 2
      worst = max(worst, abs(Double(mean[index]) - expected))
    }
    #expect(worst < 1e-6, "\(file): largest difference from the mean \(worst)")
  }
  let manifest = try data.json("ensemble/manifest.json")
  let records = manifest["models"] as? [[String: Any]] ?? []
  #expect(records.compactMap { $0["path"] as? String } == models)
  #expect((manifest["model"] as? [String: Any])?["path"] as? String == models[0])
  let report = try String(contentsOfFile: data.path("ensemble/report.html"), encoding: .utf8)
  #expect(report.contains("ensemble of 2 models in \(data.directory.path)/: a, b (backend swiftnet)"))
  // The model folders' digests are those of the documented listing, by sha256sum.
  for (record, model) in zip(records, models) {
    let listing = try runCommand(
      URL(fileURLWithPath: "/bin/sh"),
      [
        "-c", "cd \"$1\" && find -L . -type f -printf '%P\\n' | LC_ALL=C sort | xargs -d '\\n' sha256sum | sha256sum",
        "sh", model,
      ])
    #expect(listing.status == 0, "\(listing.stderr)")
    #expect(record["sha256"] as? String == String(listing.stdout.prefix(64)), "\(model)")
  }
  // Nothing of the per-model working folders is left beside the bundles.
  let entries = try FileManager.default.contentsOfDirectory(atPath: data.directory.path)
  #expect(entries.filter { $0.hasPrefix(".") }.isEmpty, "\(entries)")
  let validation = try runCommand(
    URL(fileURLWithPath: "/usr/bin/env"),
    [
      "python3", TestEnvironment.repositoryRoot.appendingPathComponent("tools/validate_bundle.py").path,
      data.path("ensemble"),
    ])
  #expect(validation.status == 0, "\(validation.stderr)")
}

/// Models of different architectures are refused before any kernel is computed, naming the field.
@Test func ensembleRefusesModelsThatDiffer() throws {
  let data = try TinyDigits()
  defer { data.remove() }
  let mlp = try data.trainModel("mlp", seed: 1)
  let cnn = TestEnvironment.repositoryRoot.appendingPathComponent("examples/digits/cnn-trained").path
  let result = try runEntk([
    "attribute", "--kind", "trntk", "--backend", "swiftnet", "--model", mlp, "--model", cnn, "--train",
    data.path("train_x.npy"), "--test", data.path("test_x.npy"), "--train-labels", data.path("train_y.npy"),
    "--out", data.path("bundle"),
  ])
  #expect(result.status == 3)
  #expect(result.stderr.contains("parameters (P) 38282 differs from 3466"), "\(result.stderr)")
  #expect(!result.stderr.contains("computing the train kernel"))
  #expect(!FileManager.default.fileExists(atPath: data.path("bundle")))
}

/// Several models with precomputed kernels is a usage error: the kernels belong to one model.
@Test func ensembleNeedsComputedKernels() throws {
  let data = try TinyDigits()
  defer { data.remove() }
  let result = try runEntk([
    "attribute", "--train-kernel", data.path("K.npy"), "--test-kernel", data.path("T.npy"), "--model", "a", "--model",
    "b", "--train-labels", data.path("train_y.npy"), "--out", data.path("bundle"),
  ])
  #expect(result.status == 2)
  #expect(result.stderr.contains("2 models given, but precomputed kernels belong to one model"), "\(result.stderr)")
}
