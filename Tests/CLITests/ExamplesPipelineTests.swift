import EntkTestSupport
import Foundation
import Testing

/// `examples/Makefile`, the pipeline users copy, run as they would: `make -j2` with its defaults.
enum ExamplesPipeline {
  static let examples = TestEnvironment.repositoryRoot.appendingPathComponent("examples")

  /// Runs `make -j2 -C examples OUT=out` with the built entk.
  static func run(out: URL) throws -> CommandResult {
    // A `make test` above us would hand its MAKEFLAGS (jobserver, -n, -k) down to this make.
    try runCommand(
      URL(fileURLWithPath: "/usr/bin/env"),
      ["make", "-j2", "-C", examples.path, "ENTK=\(TestEnvironment.entkExecutable.path)", "OUT=\(out.path)"],
      environment: ["MAKEFLAGS": "", "MFLAGS": "", "MAKELEVEL": ""])
  }

  /// The sidecars of a kernel folder's tiles: one per tile that ran.
  static func tileCount(_ folder: URL) throws -> Int {
    try FileManager.default.contentsOfDirectory(atPath: folder.appendingPathComponent("tiles").path)
      .filter { $0.hasSuffix(".json") }.count
  }
}

@Test func examplesPipelineWritesAValidBundleFromTiledKernelsEqualToSingleProcessOnes() throws {
  let directory = try TestEnvironment.temporaryDirectory()
  defer { try? FileManager.default.removeItem(at: directory) }
  let out = directory.appendingPathComponent("out")
  let pipeline = try ExamplesPipeline.run(out: out)
  try #require(pipeline.status == 0, "\(pipeline.stdout)\n\(pipeline.stderr)")

  let bundle = out.appendingPathComponent("bundle")
  let validation = try runCommand(
    URL(fileURLWithPath: "/usr/bin/env"),
    ["python3", TestEnvironment.repositoryRoot.appendingPathComponent("tools/validate_bundle.py").path, bundle.path])
  #expect(validation.status == 0 && validation.stdout.contains("bundle ok"), "\(validation.stderr)")

  // The defaults: 400 train and 100 test samples in tiles of 100, so the kernels really were tiled
  // (4·5/2 = 10 tiles on and above the diagonal; 1 × 4 for test × train).
  let trainKernel = out.appendingPathComponent("train-kernel")
  let testKernel = out.appendingPathComponent("test-kernel")
  #expect(try ExamplesPipeline.tileCount(trainKernel) == 10)
  #expect(try ExamplesPipeline.tileCount(testKernel) == 4)

  // One process per kernel with the settings the Makefile plans with, on the model it trained.
  let data = out.appendingPathComponent("data")
  let common = [
    "kernel", "--backend", "swiftnet", "--model", out.appendingPathComponent("model").path,
    "--train", data.appendingPathComponent("train_x.npy").path, "--kind", "trntk", "--normalize", "cosine",
    "--tile-size", "100", "--threads", "1",
  ]
  let singleTrain = directory.appendingPathComponent("single-train")
  let singleTest = directory.appendingPathComponent("single-test")
  let train = try runEntk(common + ["--out", singleTrain.path])
  let test = try runEntk(common + ["--test", data.appendingPathComponent("test_x.npy").path, "--out", singleTest.path])
  #expect(train.status == 0 && test.status == 0, "\(train.stderr)\n\(test.stderr)")
  for (merged, single) in [(trainKernel, singleTrain), (testKernel, singleTest)] {
    let mergedBytes = try Data(contentsOf: merged.appendingPathComponent("kernel.npy"))
    let singleBytes = try Data(contentsOf: single.appendingPathComponent("kernel.npy"))
    #expect(mergedBytes == singleBytes, "\(merged.lastPathComponent) differs from the single-process kernel")
  }
}
