import ArrayIO
import EntkTestSupport
import Foundation
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
