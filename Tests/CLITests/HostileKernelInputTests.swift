import ArrayIO
import EntkTestSupport
import Foundation
import Testing

/// Regression tests for the hostile-input probe of issue 14 on the kernel stage: hand-edited
/// kernel folders and extreme integer options exit with a message naming the problem, never a
/// trap, and leave no partial file behind.
enum HostileKernel {
  /// A kernel folder with its one tile computed and not merged (what `entk merge` assembles).
  static func tiledFolder(in directory: URL, name: String = "k") throws -> URL {
    let out = directory.appendingPathComponent(name)
    let result = try runEntk(KernelCLI.arguments(out, extra: ["--tile", "0,0"]))
    #expect(result.status == 0, "\(result.stderr)")
    return out
  }

  /// Rewrites `folder/kernel.json` with `edit` applied to its JSON object.
  static func editManifest(_ folder: URL, _ edit: (inout [String: Any]) -> Void) throws {
    let url = folder.appendingPathComponent("kernel.json")
    var object = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: url)) as? [String: Any])
    edit(&object)
    try JSONSerialization.data(withJSONObject: object).write(to: url)
  }

  /// Names left in `folder` by a failed run that are not part of the folder's design.
  static func leftovers(_ folder: URL) -> [String] {
    let names = (try? FileManager.default.subpathsOfDirectory(atPath: folder.path)) ?? []
    return names.filter { $0.contains(".tmp-") || $0 == "kernel.npy" }
  }
}

/// Finding 1 and 2: grid and shape fields of kernel.json, each refused by name before any write.
@Test(arguments: [
  ("grid", "tileRows", 0, "grid.tileRows is 0"),
  ("grid", "tileColumns", 0, "grid.tileColumns is 0"),
  ("grid", "tileRows", Int.max, "grid.tileRows is \(Int.max)"),
  ("grid", "tileColumns", Int.max, "grid.tileColumns is \(Int.max)"),
  ("grid", "columns", Int.min, "grid.columns is \(Int.min)"),
  ("grid", "rows", 3, "grid.rows is 3"),
  ("shape", "0", -1, "shape is [-1, 24]"),
  ("shape", "1", Int.max, "shape is [24, \(Int.max)]"),
  ("rows", "count", Int.max, "grid.rows is 24: rows.count is \(Int.max)"),
  ("numParams", "", 5, "numOutputs/numParams/parameterGroups is invalid: parameter groups cover"),
])
func mergeRefusesAnEditedKernelJSON(object: String, field: String, value: Int, message: String) throws {
  let directory = try TestEnvironment.temporaryDirectory()
  defer { try? FileManager.default.removeItem(at: directory) }
  let folder = try HostileKernel.tiledFolder(in: directory)
  try HostileKernel.editManifest(folder) { manifest in
    switch object {
    case "shape":
      var shape = manifest["shape"] as? [Int] ?? []
      shape[Int(field) ?? 0] = value
      manifest["shape"] = shape
    case "numParams": manifest["numParams"] = value
    default:
      var inner = manifest[object] as? [String: Any] ?? [:]
      inner[field] = value
      manifest[object] = inner
    }
  }
  let result = try runEntk(["merge", folder.path])
  #expect(result.status == 3, "exit \(result.status): \(result.stderr)")
  #expect(result.stderr.contains("kernel.json: \(message)"), "\(result.stderr)")
  #expect(HostileKernel.leftovers(folder).isEmpty, "left \(HostileKernel.leftovers(folder))")
  // A resumed run reads the same file and refuses it the same way.
  let rerun = try runEntk(KernelCLI.arguments(folder, extra: ["--tile", "0,0"]))
  #expect(rerun.status == 3 && rerun.stderr.contains(message), "\(rerun.stderr)")
}

@Test func mergeRefusesAFileNameOutsideTheFolder() throws {
  let directory = try TestEnvironment.temporaryDirectory()
  defer { try? FileManager.default.removeItem(at: directory) }
  let folder = try HostileKernel.tiledFolder(in: directory)
  try HostileKernel.editManifest(folder) { $0["file"] = "../escaped.npy" }
  let result = try runEntk(["merge", folder.path])
  #expect(result.status == 3 && result.stderr.contains(#"file is "../escaped.npy""#), "\(result.stderr)")
  #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("escaped.npy").path))
}

/// A sidecar whose sample ranges disagree with the grid marks its tile corrupt, by name.
@Test func mergeRefusesASidecarForOtherSamples() throws {
  let directory = try TestEnvironment.temporaryDirectory()
  defer { try? FileManager.default.removeItem(at: directory) }
  let folder = try HostileKernel.tiledFolder(in: directory)
  let sidecar = folder.appendingPathComponent("tiles/tile-0-0.json")
  var object = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: sidecar)) as? [String: Any])
  object["rows"] = [0, Int.max]
  try JSONSerialization.data(withJSONObject: object).write(to: sidecar)
  let result = try runEntk(["merge", folder.path])
  #expect(
    result.status == 3 && result.stderr.contains("corrupt or partial: 0,0 (sidecar covers rows"), "\(result.stderr)")
  #expect(HostileKernel.leftovers(folder).isEmpty)
}

/// Findings 3 and 4: a batch larger than the data is bounded by it, so the kernel is the one of
/// the default batch size (batches do not change values) and nothing huge is allocated.
@Test(arguments: [
  ("trntk", [] as [String], "9223372036854775807"),
  ("proj-pntk", ["--proj-dim", "4"], "100000000"),
])
func hugeBatchSizesAreBoundedByTheData(kind: String, extra: [String], batch: String) throws {
  let directory = try TestEnvironment.temporaryDirectory()
  defer { try? FileManager.default.removeItem(at: directory) }
  let reference = directory.appendingPathComponent("reference")
  let huge = directory.appendingPathComponent("huge")
  let first = try runEntk(KernelCLI.arguments(reference, kind: kind, extra: extra + ["--threads", "1"]))
  #expect(first.status == 0, "\(first.stderr)")
  let result = try runEntk(
    KernelCLI.arguments(huge, kind: kind, extra: extra + ["--threads", "1", "--batch-size", batch]))
  #expect(result.status == 0, "\(result.stderr)")
  #expect(try KernelCLI.kernel(huge) == KernelCLI.kernel(reference))
}

/// Findings 5 to 7: --threads beyond 4 per core is a usage error before any model is opened.
@Test(arguments: ["2147483648", "9223372036854775807", "1000000"])
func threadCountsBeyondTheMachineAreRefused(threads: String) throws {
  let directory = try TestEnvironment.temporaryDirectory()
  defer { try? FileManager.default.removeItem(at: directory) }
  let out = directory.appendingPathComponent("k")
  let cores = ProcessInfo.processInfo.activeProcessorCount
  for arguments in [
    KernelCLI.arguments(out, extra: ["--threads", threads]),
    ["plan"] + PlanCLI.planArguments(URL(fileURLWithPath: KernelCLI.train), out: out, extra: ["--threads", threads]),
  ] {
    let result = try runEntk(arguments)
    #expect(result.status == 2, "\(arguments[0]): exit \(result.status), \(result.stderr)")
    #expect(result.stderr.contains("--threads '\(threads)': expected 1...\(4 * cores)"), "\(result.stderr)")
    #expect(!FileManager.default.fileExists(atPath: out.path))
  }
}

/// Finding 10: --out that cannot be a folder is refused with a sentence naming it (exit 3, or 2
/// for an empty option), before any work and without Foundation's error dump.
@Test(arguments: ["kernel", "plan", "attribute"])
func unwritableOutputPathsAreSentences(command: String) throws {
  let directory = try TestEnvironment.temporaryDirectory()
  defer { try? FileManager.default.removeItem(at: directory) }
  let file = directory.appendingPathComponent("a-file")
  try Data("x".utf8).write(to: file)
  let long = directory.appendingPathComponent(String(repeating: "n", count: 300))
  let fixture = try AttributeFixture(trainCount: 12, testCount: 4)
  defer { try? FileManager.default.removeItem(at: fixture.directory) }
  func arguments(_ out: String) -> [String] {
    switch command {
    case "kernel":
      return Array(KernelCLI.arguments(directory.appendingPathComponent("unused")).dropLast(2)) + ["--out", out]
    case "plan":
      return ["plan"]
        + PlanCLI.planArguments(URL(fileURLWithPath: KernelCLI.train), out: URL(fileURLWithPath: out))
        .dropLast(2) + ["--out", out]
    default: return Array(fixture.arguments().dropLast(2)) + ["--out", out]
    }
  }
  var cases: [(String, Int32, String)] = [
    (file.appendingPathComponent("under").path, 3, "because \(file.path) is a file, not a folder"),
    (long.path, 3, "is 300 bytes, longer than the"), ("", 2, "--out is empty"),
  ]
  // An existing file is replaced by `attribute --force` only, and refused as existing without it.
  cases.append(command == "attribute" ? (file.path, 3, "already exists") : (file.path, 3, "exists and is a file"))
  for (out, status, message) in cases {
    let result = try runEntk(arguments(out))
    #expect(result.status == status, "\(command) --out \(out.prefix(60)): exit \(result.status), \(result.stderr)")
    #expect(result.stderr.contains(message), "\(result.stderr)")
    #expect(!result.stderr.contains("NSCocoaErrorDomain"))
  }
  let names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
  #expect(names.sorted() == ["a-file"], "left \(names)")
}

/// A memory budget beyond the machine lets through a tile no allocation can hold (k = 2³²
/// projections): refused as a usage error before any file is written, not an abort in malloc.
@Test func aTileLargerThanTheMachineIsRefusedBeforeWriting() throws {
  let directory = try TestEnvironment.temporaryDirectory()
  defer { try? FileManager.default.removeItem(at: directory) }
  let out = directory.appendingPathComponent("k")
  let result = try runEntk(
    KernelCLI.arguments(
      out, kind: "proj-pntk", extra: ["--proj-dim", "4294967296", "--memory", "100T", "--threads", "1"]))
  #expect(result.status == 2, "exit \(result.status): \(result.stderr)")
  #expect(result.stderr.contains("more than this machine's"), "\(result.stderr)")
  #expect(!FileManager.default.fileExists(atPath: out.path))
}
