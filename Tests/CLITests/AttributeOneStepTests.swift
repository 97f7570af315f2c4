import ArrayIO
import EntkTestSupport
import Foundation
import Testing

/// `entk attribute --kind`: kernels computed in-process, on the kernel-mlp fixture (example-c
/// backend, 24 training and 7 test points, 4 classes) with labels i mod 4.
struct OneStepFixture {
  let directory: URL
  let trainLabels: URL
  let testLabels: URL

  init() throws {
    directory = try TestEnvironment.temporaryDirectory("one-step")
    trainLabels = directory.appendingPathComponent("train_y.npy")
    testLabels = directory.appendingPathComponent("test_y.npy")
    try NPYFile.write(NPYArray(int64: (0..<24).map { Int64($0 % 4) }, shape: [24]), to: trainLabels)
    try NPYFile.write(NPYArray(int64: (0..<7).map { Int64($0 % 4) }, shape: [7]), to: testLabels)
  }

  func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

  /// The inputs every attribute run here shares: model, data, labels.
  var common: [String] {
    [
      "--backend", "example-c", "--model", KernelCLI.model.path, "--train", KernelCLI.train, "--test", KernelCLI.test,
      "--train-labels", trainLabels.path, "--test-labels", testLabels.path, "--top-k", "5",
    ]
  }

  /// One-step arguments for `kind` (plus `extra`), writing the bundle `bundle`.
  func oneStep(_ kernel: [String], bundle: String = "bundle") -> [String] {
    ["attribute"] + common + kernel + ["--threads", "1", "--out", path(bundle)]
  }

  /// The folder's entries, excluding the label files written by `init`.
  func entries() throws -> [String] {
    try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { !$0.hasSuffix("_y.npy") }.sorted()
  }

  func json(_ relative: String) throws -> [String: Any] {
    try JSONSerialization.jsonObject(with: Data(contentsOf: directory.appendingPathComponent(relative)))
      as? [String: Any] ?? [:]
  }
}

@Test(arguments: [
  ["--kind", "trntk"],
  ["--kind", "proj-trntk", "--proj-dim", "16", "--proj-kind", "rademacher", "--seed", "7"],
])
func oneStepAttributeEqualsKernelThenAttribute(kernel: [String]) throws {
  let fixture = try OneStepFixture()
  defer { try? FileManager.default.removeItem(at: fixture.directory) }
  let oneStep = try runEntk(fixture.oneStep(kernel, bundle: "one"))
  #expect(oneStep.status == 0, "\(oneStep.stderr)")
  #expect(oneStep.stderr.contains("attribute: train kernel: tile 1/1"), "\(oneStep.stderr)")
  #expect(oneStep.stderr.contains("attribute: test kernel: tile 1/1"), "\(oneStep.stderr)")
  // The working folder is gone: only the bundle remains.
  #expect(try fixture.entries() == ["one"])

  // Two steps: `entk kernel` twice with the same settings (cosine is attribute's default), then
  // `entk attribute` on the folders.
  let kernelArguments =
    [
      "kernel", "--backend", "example-c", "--model", KernelCLI.model.path, "--train", KernelCLI.train,
      "--normalize", "cosine", "--threads", "1",
    ] + kernel
  #expect(try runEntk(kernelArguments + ["--out", fixture.path("k-train")]).status == 0)
  #expect(try runEntk(kernelArguments + ["--test", KernelCLI.test, "--out", fixture.path("k-test")]).status == 0)
  var twoStepArguments = ["attribute"] + fixture.common + ["--out", fixture.path("two")]
  twoStepArguments += ["--train-kernel", fixture.path("k-train"), "--test-kernel", fixture.path("k-test")]
  let twoStep = try runEntk(twoStepArguments)
  #expect(twoStep.status == 0, "\(twoStep.stderr)")

  for bundle in ["one", "two"] {
    let validation = try runCommand(
      URL(fileURLWithPath: "/usr/bin/env"),
      [
        "python3", TestEnvironment.repositoryRoot.appendingPathComponent("tools/validate_bundle.py").path,
        fixture.path(bundle),
      ])
    #expect(validation.status == 0, "\(bundle): \(validation.stderr)")
  }
  for file in [
    "metrics.json", "attributions.json", "attributions.csv", "train_kernel.npy", "test_kernel.npy",
    "surrogate_weights.npy", "network_test_logits.npy",
  ] {
    let one = try Data(contentsOf: fixture.directory.appendingPathComponent("one/\(file)"))
    let two = try Data(contentsOf: fixture.directory.appendingPathComponent("two/\(file)"))
    #expect(one == two, "\(file) differs between the one-step and the two-step bundle")
  }

  // Both manifests record the kernel's settings.
  let projected = kernel.contains("--proj-dim")
  for bundle in ["one", "two"] {
    let manifest = try fixture.json("\(bundle)/manifest.json")
    let record = manifest["kernel"] as? [String: Any] ?? [:]
    let settings = record["settings"] as? [String: String] ?? [:]
    #expect(record["kind"] as? String == kernel[1], "\(bundle)")
    #expect(settings["normalize"] == "cosine", "\(bundle)")
    if projected {
      #expect(settings["projectionDim"] == "16" && settings["projectionDistribution"] == "rademacher", "\(bundle)")
      #expect(settings["projectionSeed"] == "7" && manifest["seed"] as? Int == 7, "\(bundle)")
    }
    // Kernel folders are recorded only when they outlive the run.
    #expect((settings["trainKernelFolder"] != nil) == (bundle == "two"), "\(bundle)")
  }
}

/// Every usage error: exit 2, a message naming the problem, nothing written.
@Test(arguments: [
  ("both", ["--kind", "trntk", "--train-kernel", "K", "--test-kernel", "T"], "not both"),
  ("neither", [], "give --kind KIND to compute the kernels, or --train-kernel and --test-kernel"),
  ("one kernel file", ["--train-kernel", "K"], "need both --train-kernel and --test-kernel"),
  (
    "compute option without --kind", ["--train-kernel", "K", "--test-kernel", "T", "--normalize", "none"],
    "--normalize, --threads only apply with --kind"
  ),
  ("--kernel-kind with --kind", ["--kind", "trntk", "--kernel-kind", "trntk"], "--kernel-kind records the kind"),
  ("full eNTK", ["--kind", "entk"], "C×C blocks"),
  ("unknown kind", ["--kind", "ntk"], "The value 'ntk' is invalid for '--kind <kind>'"),
  ("projection without k", ["--kind", "proj-pntk"], "needs --proj-dim"),
])
func attributeKernelSourceUsageErrors(label: String, kernel: [String], message: String) throws {
  let fixture = try OneStepFixture()
  defer { try? FileManager.default.removeItem(at: fixture.directory) }
  let result = try runEntk(fixture.oneStep(kernel))
  #expect(result.status == 2, "\(label): exit \(result.status), \(result.stderr)")
  #expect(result.stderr.contains(message), "\(label): \(result.stderr)")
  let left = try fixture.entries()
  #expect(left.isEmpty, "\(label) left \(left)")
}

@Test func attributeWithKindNeedsTheModelAndBothDataSets() throws {
  let fixture = try OneStepFixture()
  defer { try? FileManager.default.removeItem(at: fixture.directory) }
  let result = try runEntk([
    "attribute", "--kind", "trntk", "--model", KernelCLI.model.path, "--train", KernelCLI.train, "--train-labels",
    fixture.trainLabels.path, "--out", fixture.path("bundle"),
  ])
  #expect(result.status == 2, "\(result.stderr)")
  #expect(result.stderr.contains("it also needs --backend, --test"), "\(result.stderr)")
}

/// A failure in the kernel stage, before any kernel folder exists (NaN in the data) and in the
/// middle of the train kernel (NaN in the model's gradients): no bundle, no working folder.
@Test(arguments: ["NaN in data", "NaN in gradients"])
func kernelStageFailureLeavesNothingBehind(label: String) throws {
  let fixture = try OneStepFixture()
  defer { try? FileManager.default.removeItem(at: fixture.directory) }
  let inputs = fixture.directory.appendingPathComponent("inputs")
  try FileManager.default.createDirectory(at: inputs, withIntermediateDirectories: true)
  var arguments = fixture.oneStep(["--kind", "trntk"], bundle: "out/bundle")
  try FileManager.default.createDirectory(
    at: fixture.directory.appendingPathComponent("out"), withIntermediateDirectories: true)
  if label == "NaN in data" {
    let nanData = inputs.appendingPathComponent("nan.npy")
    try NPYFile.write(
      NPYArray(float32: [0.1, 0.2, .nan] + [Float](repeating: 0, count: 7 * 20 - 3), shape: [7, 20]), to: nanData)
    arguments[try #require(arguments.firstIndex(of: "--test")) + 1] = nanData.path
  } else {
    let nanModel = inputs.appendingPathComponent("nan-model")
    try FileManager.default.copyItem(at: KernelCLI.model, to: nanModel)
    let w2 = try NPYFile.read(nanModel.appendingPathComponent("W2.npy"))
    var values = w2.float32Values()
    values[0] = .nan
    try NPYFile.write(NPYArray(float32: values, shape: w2.shape), to: nanModel.appendingPathComponent("W2.npy"))
    arguments[try #require(arguments.firstIndex(of: "--model")) + 1] = nanModel.path
  }
  let result = try runEntk(arguments)
  #expect(result.status == 3, "\(label): exit \(result.status), \(result.stderr)")
  #expect(result.stderr.contains("NaN"), "\(label): \(result.stderr)")
  let left = try FileManager.default.contentsOfDirectory(atPath: fixture.path("out"))
  #expect(left.isEmpty, "\(label) left \(left)")
}

@Test func aKilledRunsWorkingFolderIsRemovedByTheNextRun() throws {
  let fixture = try OneStepFixture()
  defer { try? FileManager.default.removeItem(at: fixture.directory) }
  // A PID no process has: the working folder of a run that was killed before cleaning up.
  let deadPID = try #require((4_000_000...4_100_000).first { kill(Int32($0), 0) != 0 && errno == ESRCH })
  let stale = fixture.directory.appendingPathComponent(".bundle.kernels-\(deadPID)/train")
  try FileManager.default.createDirectory(at: stale, withIntermediateDirectories: true)
  // Another bundle's working folder, and a live process's, are not touched.
  let otherBundle = fixture.directory.appendingPathComponent(".other.kernels-\(deadPID)")
  let live = fixture.directory.appendingPathComponent(".bundle.kernels-1")
  try FileManager.default.createDirectory(at: otherBundle, withIntermediateDirectories: true)
  try FileManager.default.createDirectory(at: live, withIntermediateDirectories: true)
  let result = try runEntk(fixture.oneStep(["--kind", "trntk"]))
  #expect(result.status == 0, "\(result.stderr)")
  #expect(try fixture.entries() == [".bundle.kernels-1", ".other.kernels-\(deadPID)", "bundle"])
}
