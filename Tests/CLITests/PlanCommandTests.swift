import ArrayIO
import EntkTestSupport
import Foundation
import Kernels
import Testing

/// `entk plan` and the Makefile it writes, run with GNU Make.
enum PlanCLI {
  static func planArguments(_ samples: URL, out: URL, extra: [String] = []) -> [String] {
    [
      "--backend", "example-c", "--model", KernelCLI.model.path, "--train", samples.path, "--kind", "trntk",
      "--tile-size", "15", "--out", out.path,
    ] + extra
  }

  /// Runs `make` as a job in its own process group (bash job control), so the whole job tree can
  /// be killed at once; returns the shell and the group id.
  static func startMake(_ makefile: URL, jobs: Int, scratch: URL) throws -> (Process, pid_t) {
    let groupFile = scratch.appendingPathComponent("make-\(UUID().uuidString).pgid")
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/bash")
    process.arguments = [
      "-c", "set -m; make -s -j\(jobs) -f '\(makefile.path)' & echo $! > '\(groupFile.path)'; wait $!",
    ]
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    try process.run()
    var group: pid_t = 0
    while group == 0 {
      usleep(1000)
      let text = (try? String(contentsOf: groupFile, encoding: .utf8)) ?? ""
      group = pid_t(text.trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
    }
    return (process, group)
  }

  static func sidecars(_ directory: URL) -> [String: Date] {
    let tiles = directory.appendingPathComponent("tiles")
    let names = (try? FileManager.default.contentsOfDirectory(atPath: tiles.path)) ?? []
    var result: [String: Date] = [:]
    for name in names where name.hasSuffix(".json") {
      let attributes = try? FileManager.default.attributesOfItem(atPath: tiles.appendingPathComponent(name).path)
      result[name] = attributes?[.modificationDate] as? Date
    }
    return result
  }
}

@Test func makePlanGivesTheSingleProcessKernelAndResumesAfterSIGKILL() throws {
  let directory = try TestEnvironment.temporaryDirectory()
  defer { try? FileManager.default.removeItem(at: directory) }
  let samples = directory.appendingPathComponent("samples.npy")
  try KernelCLI.writeSamples(300, seed: 8, to: samples)
  let single = directory.appendingPathComponent("single")
  let reference = try runEntk(
    ["kernel"] + PlanCLI.planArguments(samples, out: single, extra: ["--threads", "1"]))
  #expect(reference.status == 0, "\(reference.stderr)")

  let planned = directory.appendingPathComponent("planned")
  let plan = try runEntk(["plan"] + PlanCLI.planArguments(samples, out: planned, extra: ["--json"]))
  #expect(plan.status == 0, "\(plan.stderr)")
  let planJSON = try JSONSerialization.jsonObject(with: Data(plan.stdout.utf8)) as? [String: Any]
  let tiles = planJSON?["tiles"] as? [[String: Any]] ?? []
  #expect(tiles.count == 210)  // 20 × 20 grid, symmetric: 20·21/2 tiles
  let slurm = try String(contentsOf: planned.appendingPathComponent("slurm.sh"), encoding: .utf8)
  #expect(slurm.contains("#SBATCH --array=0-209") && slurm.contains("${TILES[$SLURM_ARRAY_TASK_ID]}"))

  let makefile = planned.appendingPathComponent("Makefile")
  let (first, group) = try PlanCLI.startMake(makefile, jobs: 2, scratch: directory)
  let deadline = Date().addingTimeInterval(120)
  while Date() < deadline && PlanCLI.sidecars(planned).count < 30 { usleep(2000) }
  kill(-group, SIGKILL)
  first.waitUntilExit()
  let finished = PlanCLI.sidecars(planned)
  #expect(finished.count >= 30 && finished.count < 210, "\(finished.count) tiles finished before the kill")
  #expect(!FileManager.default.fileExists(atPath: planned.appendingPathComponent("kernel.npy").path))

  let (second, _) = try PlanCLI.startMake(makefile, jobs: 2, scratch: directory)
  second.waitUntilExit()
  #expect(second.terminationStatus == 0)
  #expect(try KernelCLI.kernel(planned) == KernelCLI.kernel(single))
  // Finished tiles were not recomputed: their sidecars are untouched.
  let after = PlanCLI.sidecars(planned)
  #expect(after.count == 210)
  for (name, date) in finished { #expect(after[name] == date, "\(name) was rewritten") }
  // Temporary files of the killed tiles were cleaned up by the tiles that replaced them.
  let leftovers = try FileManager.default.contentsOfDirectory(atPath: planned.appendingPathComponent("tiles").path)
  #expect(!leftovers.contains { $0.contains(".tmp-") }, "\(leftovers.filter { $0.contains(".tmp-") })")
}

@Test func planRunThroughPATHWritesCommandsWithTheExecutablesAbsolutePath() throws {
  let directory = try TestEnvironment.temporaryDirectory()
  defer { try? FileManager.default.removeItem(at: directory) }
  let samples = directory.appendingPathComponent("samples.npy")
  try KernelCLI.writeSamples(20, seed: 3, to: samples)
  let planned = directory.appendingPathComponent("planned")
  // As from a shell that found entk on PATH: argv[0] is the bare name "entk".
  let path = TestEnvironment.productsDirectory.path + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "")
  let result = try runCommand(
    URL(fileURLWithPath: "/usr/bin/env"), ["entk", "plan"] + PlanCLI.planArguments(samples, out: planned) + ["--json"],
    environment: ["PATH": path], currentDirectory: directory)
  #expect(result.status == 0, "\(result.stderr)")
  let plan = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
  let merge = plan?["merge"] as? [String] ?? []
  #expect(merge.first == TestEnvironment.entkExecutable.resolvingSymlinksInPath().path)
}

/// Without --memory the budget is a share of the memory available, logged on stderr; the plan's
/// tile commands carry it and the batch size as numbers, so every tile runs the same way later.
@Test func planWithoutMemoryLogsTheDefaultBudgetAndFixesItInTheTileCommands() throws {
  let directory = try TestEnvironment.temporaryDirectory()
  defer { try? FileManager.default.removeItem(at: directory) }
  let samples = directory.appendingPathComponent("samples.npy")
  try KernelCLI.writeSamples(40, seed: 3, to: samples)
  let out = directory.appendingPathComponent("plan")
  let result = try runEntk(
    ["plan"] + PlanCLI.planArguments(samples, out: out, extra: ["--json", "--kind", "proj-pntk", "--proj-dim", "8"]))
  #expect(result.status == 0, "\(result.stderr)")
  #expect(result.stderr.contains("memory: --memory not given, using "), "\(result.stderr)")
  #expect(result.stderr.contains("% of the ") && result.stderr.contains(" available ("), "\(result.stderr)")
  let plan = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
  let command = (plan?["tiles"] as? [[String: Any]])?.first?["command"] as? [String] ?? []
  let value = { (option: String) in command.firstIndex(of: option).map { command[$0 + 1] } }
  #expect(value("--memory").flatMap { Int($0) }.map { $0 > 0 } == true, "\(command)")
  #expect(value("--batch-size").flatMap { Int($0) }.map { (1...64).contains($0) } == true, "\(command)")
}

/// A projected kind's plan stores each block's features once (`--features` targets the tiles
/// depend on); the tiles read them, and the result is the single-process kernel bit for bit.
@Test(arguments: [false, true])
func aProjectedPlanComputesEachFeatureBlockOnceAndGivesTheSameKernel(testRows: Bool) throws {
  let directory = try TestEnvironment.temporaryDirectory()
  defer { try? FileManager.default.removeItem(at: directory) }
  let samples = directory.appendingPathComponent("samples.npy")
  try KernelCLI.writeSamples(40, seed: 5, to: samples)
  let test = testRows ? ["--test", KernelCLI.test] : []
  let arguments =
    [
      "--backend", "example-c", "--model", KernelCLI.model.path, "--train", samples.path, "--kind", "proj-trntk",
      "--proj-dim", "32", "--tile-size", "15",
    ] + test
  let single = try runEntk(["kernel"] + arguments + ["--out", directory.appendingPathComponent("single").path])
  #expect(single.status == 0, "\(single.stderr)")
  let planned = directory.appendingPathComponent("planned")
  let plan = try runEntk(["plan"] + arguments + ["--out", planned.path, "--json"])
  #expect(plan.status == 0, "\(plan.stderr)")
  let json = try #require(try JSONSerialization.jsonObject(with: Data(plan.stdout.utf8)) as? [String: Any])
  let blocks = try #require(json["features"] as? [[String: Any]]).compactMap { $0["block"] as? String }
  // 40 train samples in tiles of 15: 3 blocks; test × train adds the test set's row block.
  #expect(blocks == (testRows ? ["rows:0", "columns:0", "columns:1", "columns:2"] : ["rows:0", "rows:1", "rows:2"]))
  let slurm = try String(contentsOf: planned.appendingPathComponent("slurm-features.sh"), encoding: .utf8)
  #expect(slurm.contains("#SBATCH --array=0-\(blocks.count - 1)") && slurm.contains("--features"))
  let schema = TestEnvironment.repositoryRoot.appendingPathComponent("schemas/plan.schema.json").path
  let validation = try runCommand(
    URL(fileURLWithPath: "/usr/bin/env"),
    [
      "python3", "-c",
      "import json, sys, jsonschema; jsonschema.validate(json.load(open(sys.argv[1])), json.load(open(sys.argv[2])))",
      planned.appendingPathComponent("plan.json").path, schema,
    ])
  #expect(validation.status == 0, "\(validation.stderr)")

  let (make, _) = try PlanCLI.startMake(planned.appendingPathComponent("Makefile"), jobs: 2, scratch: directory)
  make.waitUntilExit()
  #expect(make.terminationStatus == 0)
  #expect(try KernelCLI.kernel(planned) == KernelCLI.kernel(directory.appendingPathComponent("single")))
  let stored = try FileManager.default.contentsOfDirectory(atPath: planned.appendingPathComponent("features").path)
  #expect(
    Set(stored)
      == Set(
        blocks.flatMap { block in ["json", "npy"].map { block.replacingOccurrences(of: ":", with: "-") + ".\($0)" } }))
}

/// The tiles read the stored block, not the model: features scaled by 2 in a block (with a
/// sidecar that verifies) give a tile of 4 times the kernel; a damaged block is recomputed.
@Test func tilesReadStoredFeaturesAndRecomputeADamagedBlock() throws {
  let directory = try TestEnvironment.temporaryDirectory()
  defer { try? FileManager.default.removeItem(at: directory) }
  let samples = directory.appendingPathComponent("samples.npy")
  try KernelCLI.writeSamples(12, seed: 3, to: samples)
  let arguments = [
    "--backend", "example-c", "--model", KernelCLI.model.path, "--train", samples.path, "--kind", "em",
    "--tile-size", "12", "--out", directory.appendingPathComponent("k").path,
  ]
  #expect(try runEntk(["kernel"] + arguments + ["--features", "rows:0"]).status == 0)
  let folder = directory.appendingPathComponent("k/features")
  let array = try NPYFile.read(folder.appendingPathComponent("rows-0.npy"))
  try writeBlock(NPYArray(float32: array.float32Values().map { 2 * $0 }, shape: array.shape), in: folder)
  #expect(try runEntk(["kernel"] + arguments + ["--tile", "0,0"]).status == 0)
  let doubled = try NPYFile.read(directory.appendingPathComponent("k/tiles/tile-0-0.npy")).float32Values()
  let reference = try runEntk(["kernel"] + arguments.dropLast() + [directory.appendingPathComponent("ref").path])
  #expect(reference.status == 0)
  let exact = try NPYFile.read(directory.appendingPathComponent("ref/kernel.npy")).float32Values()
  #expect(zip(doubled, exact).allSatisfy { abs($0 - 4 * $1) <= 1e-5 * abs(4 * $1) + 1e-6 })

  // A flipped byte fails the checksum: the block is recomputed from the model.
  var bytes = try Data(contentsOf: folder.appendingPathComponent("rows-0.npy"))
  bytes[bytes.count - 1] ^= 0x40
  try bytes.write(to: folder.appendingPathComponent("rows-0.npy"))
  try FileManager.default.removeItem(at: directory.appendingPathComponent("k/tiles"))
  #expect(try runEntk(["kernel"] + arguments + ["--tile", "0,0"]).status == 0)
  #expect(try NPYFile.read(directory.appendingPathComponent("k/tiles/tile-0-0.npy")).float32Values() == exact)
}

/// Rewrites `rows-0.npy` with `array` and a sidecar that verifies.
private func writeBlock(_ array: NPYArray, in folder: URL) throws {
  let file = folder.appendingPathComponent("rows-0.npy")
  try NPYFile.write(array, to: file)
  let data = try Data(contentsOf: file)
  let sidecarURL = folder.appendingPathComponent("rows-0.json")
  var sidecar = try JSONDecoder().decode(FeatureSidecar.self, from: Data(contentsOf: sidecarURL))
  sidecar.bytes = data.count
  sidecar.checksum = data.withUnsafeBytes { TileChecksum.of($0) }
  try JSONEncoder().encode(sidecar).write(to: sidecarURL)
}

@Test(arguments: [
  (["--kind", "trntk", "--features", "rows:0"], "too large to store"),
  (["--kind", "em", "--features", "columns:0"], "a symmetric kernel has row blocks rows:0...rows:0 only"),
  (["--kind", "em", "--features", "rows:5"], "row blocks rows:0...rows:0"),
  (["--kind", "em", "--features", "diagonal:0"], "expected rows:I or columns:J"),
])
func featureBlocksOutsideWhatTheKernelStoresAreRefused(extra: [String], message: String) throws {
  let directory = try TestEnvironment.temporaryDirectory()
  defer { try? FileManager.default.removeItem(at: directory) }
  let result = try runEntk(
    ["kernel", "--backend", "example-c", "--model", KernelCLI.model.path, "--train", KernelCLI.train] + extra + [
      "--out", directory.appendingPathComponent("k").path,
    ])
  #expect(result.status == 2, "\(result.stderr)")
  #expect(result.stderr.contains(message), "\(result.stderr)")
  #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("k").path))
}
