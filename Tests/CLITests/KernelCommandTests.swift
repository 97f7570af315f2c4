import ArrayIO
import EntkTestSupport
import Foundation
import Testing

/// `entk kernel` / `entk merge` end to end, on the example-c backend and the kernel-mlp fixture.
enum KernelCLI {
  static let model = TestEnvironment.fixture("kernel-mlp")
  static let train = model.appendingPathComponent("train.npy").path
  static let test = model.appendingPathComponent("test.npy").path

  static func arguments(_ out: URL, kind: String = "trntk", extra: [String] = []) -> [String] {
    ["kernel", "--backend", "example-c", "--model", model.path, "--train", train, "--kind", kind, "--out", out.path]
      + extra
  }

  static func kernel(_ out: URL) throws -> NPYArray { try NPYFile.read(out.appendingPathComponent("kernel.npy")) }

  static func summary(_ result: CommandResult) throws -> [String: Any] {
    try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any] ?? [:]
  }

  /// Random samples for the fixture model (input size 20), written to `url`.
  static func writeSamples(_ count: Int, seed: UInt64, to url: URL) throws {
    var state = seed
    let values = (0..<count * 20).map { _ -> Float in
      state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
      return Float(Int64(bitPattern: state >> 11) % 2000) / 1000 - 1
    }
    try NPYFile.write(NPYArray(float32: values, shape: [count, 20]), to: url)
  }
}

func relativeDifference(_ a: [Float], _ b: [Float]) -> Double {
  var difference = 0.0
  var norm = 0.0
  for index in a.indices {
    difference += Double(a[index] - b[index]) * Double(a[index] - b[index])
    norm += Double(b[index]) * Double(b[index])
  }
  return (difference / norm).squareRoot()
}

@Test func tinyMemoryForcesManyTilesAndGivesTheOneTileKernel() throws {
  let directory = try TestEnvironment.temporaryDirectory()
  defer { try? FileManager.default.removeItem(at: directory) }
  // One fixture sample's Jacobian is 4 × 18804 floats ≈ 300 kB: 2.5M fits tiles of about 4 samples.
  // Its factored row (example-c factors every layer) is 1739 floats ≈ 7 kB: so does 64K.
  for (factors, memory) in [("off", "2.5M"), ("auto", "64K")] {
    for testRows in [false, true] {
      let extra = (testRows ? ["--test", KernelCLI.test] : []) + ["--factors", factors]
      let one = directory.appendingPathComponent("one-\(factors)-\(testRows)")
      let many = directory.appendingPathComponent("many-\(factors)-\(testRows)")
      let whole = try runEntk(KernelCLI.arguments(one, extra: extra + ["--json"]))
      #expect(whole.status == 0, "\(whole.stderr)")
      #expect(try KernelCLI.summary(whole)["grid"] as? [Int] == [1, 1])
      let tiled = try runEntk(KernelCLI.arguments(many, extra: extra + ["--memory", memory, "--json"]))
      #expect(tiled.status == 0, "\(tiled.stderr)")
      let grid = try KernelCLI.summary(tiled)["grid"] as? [Int] ?? []
      #expect(grid.count == 2 && grid[0] * grid[1] >= 12, "factors \(factors): grid \(grid)")
      #expect(tiled.stderr.contains("tiles/s"))
      let (a, b) = (try KernelCLI.kernel(many), try KernelCLI.kernel(one))
      #expect(a.shape == b.shape)
      #expect(relativeDifference(a.float32Values(), b.float32Values()) <= 1e-6)
      #expect(!FileManager.default.fileExists(atPath: many.appendingPathComponent("tiles").path))
    }
  }
}

@Test func perTileRunsThenMergeEqualTheSingleProcessKernel() throws {
  let directory = try TestEnvironment.temporaryDirectory()
  defer { try? FileManager.default.removeItem(at: directory) }
  let single = directory.appendingPathComponent("single")
  let tiled = directory.appendingPathComponent("tiled")
  #expect(try runEntk(KernelCLI.arguments(single, kind: "layers", extra: ["--tile-size", "10"])).status == 0)
  // 24 samples in tiles of 10: a 3×3 grid, symmetric, so 6 tiles with ROW ≤ COL.
  let tiles = ["0,0", "0,1", "0,2", "1,1", "1,2", "2,2"]
  for tile in tiles.dropLast() {
    let result = try runEntk(KernelCLI.arguments(tiled, kind: "layers", extra: ["--tile-size", "10", "--tile", tile]))
    #expect(result.status == 0, "\(result.stderr)")
  }
  let early = try runEntk(["merge", tiled.path])
  #expect(early.status == 3)
  #expect(early.stderr.contains("missing: 2,2"), "\(early.stderr)")
  #expect(!FileManager.default.fileExists(atPath: tiled.appendingPathComponent("kernel.npy").path))
  let below = try runEntk(KernelCLI.arguments(tiled, kind: "layers", extra: ["--tile-size", "10", "--tile", "2,1"]))
  #expect(below.status == 2 && below.stderr.contains("ROW ≤ COL"), "\(below.stderr)")
  #expect(
    try runEntk(KernelCLI.arguments(tiled, kind: "layers", extra: ["--tile-size", "10", "--tile", "2,2"])).status == 0)
  // A finished tile is not recomputed.
  let again = try runEntk(
    KernelCLI.arguments(tiled, kind: "layers", extra: ["--tile-size", "10", "--tile", "2,2", "--json"]))
  let run = try KernelCLI.summary(again)["run"] as? [String: Any]
  #expect(run?["computed"] as? Int == 0 && run?["skipped"] as? Int == 1)

  // A damaged tile is refused by name.
  let victim = tiled.appendingPathComponent("tiles/tile-1-2.npy")
  var bytes = try Data(contentsOf: victim)
  bytes[bytes.count - 1] ^= 0xFF
  try bytes.write(to: victim)
  let corrupt = try runEntk(["merge", tiled.path])
  #expect(corrupt.status == 3 && corrupt.stderr.contains("1,2 (checksum"), "\(corrupt.stderr)")
  #expect(
    try runEntk(KernelCLI.arguments(tiled, kind: "layers", extra: ["--tile-size", "10", "--tile", "1,2"])).status == 0)

  let merged = try runEntk(["merge", tiled.path, "--json"])
  #expect(merged.status == 0, "\(merged.stderr)")
  #expect(try KernelCLI.kernel(tiled) == KernelCLI.kernel(single))
  let manifest =
    try JSONSerialization.jsonObject(with: Data(contentsOf: tiled.appendingPathComponent("kernel.json")))
    as? [String: Any]
  #expect(manifest?["complete"] as? Bool == true)
}

@Test func killedRunResumesToTheIdenticalKernel() throws {
  let directory = try TestEnvironment.temporaryDirectory()
  defer { try? FileManager.default.removeItem(at: directory) }
  let samples = directory.appendingPathComponent("samples.npy")
  try KernelCLI.writeSamples(300, seed: 4, to: samples)
  func arguments(_ out: URL) -> [String] {
    [
      "kernel", "--backend", "example-c", "--model", KernelCLI.model.path, "--train", samples.path, "--kind", "trntk",
      "--tile-size", "15", "--threads", "1", "--out", out.path, "--json",
    ]
  }
  let reference = directory.appendingPathComponent("reference")
  #expect(try runEntk(arguments(reference)).status == 0)

  let resumed = directory.appendingPathComponent("resumed")
  let process = Process()
  process.executableURL = TestEnvironment.entkExecutable
  process.arguments = arguments(resumed)
  process.standardOutput = FileHandle.nullDevice
  process.standardError = FileHandle.nullDevice
  try process.run()
  let tiles = resumed.appendingPathComponent("tiles")
  let deadline = Date().addingTimeInterval(120)
  while Date() < deadline {
    let finished =
      (try? FileManager.default.contentsOfDirectory(atPath: tiles.path))?.filter { $0.hasSuffix(".json") }.count ?? 0
    if finished >= 20 { break }
    usleep(2000)
  }
  kill(process.processIdentifier, SIGKILL)
  process.waitUntilExit()
  #expect(process.terminationReason == .uncaughtSignal, "the run finished before it could be killed")
  #expect(!FileManager.default.fileExists(atPath: resumed.appendingPathComponent("kernel.npy").path))

  let rerun = try runEntk(arguments(resumed))
  #expect(rerun.status == 0, "\(rerun.stderr)")
  let run = try KernelCLI.summary(rerun)["run"] as? [String: Any]
  let skipped = run?["skipped"] as? Int ?? 0
  #expect(skipped >= 20 && skipped < 210, "skipped \(skipped) of 210 tiles")
  #expect(try KernelCLI.kernel(resumed) == KernelCLI.kernel(reference))
}

@Test func kernelJSONFollowsItsSchema() throws {
  let directory = try TestEnvironment.temporaryDirectory()
  defer { try? FileManager.default.removeItem(at: directory) }
  let out = directory.appendingPathComponent("k")
  let result = try runEntk(
    KernelCLI.arguments(out, kind: "proj-pntk", extra: ["--proj-dim", "8", "--normalize", "cosine"]))
  #expect(result.status == 0, "\(result.stderr)")
  let schemaURL = TestEnvironment.repositoryRoot.appendingPathComponent("schemas/kernel.schema.json")
  let schema = try JSONSerialization.jsonObject(with: Data(contentsOf: schemaURL)) as? [String: Any] ?? [:]
  let manifest =
    try JSONSerialization.jsonObject(with: Data(contentsOf: out.appendingPathComponent("kernel.json")))
    as? [String: Any] ?? [:]
  func check(_ object: [String: Any], against schema: [String: Any], path: String) {
    let properties = schema["properties"] as? [String: Any] ?? [:]
    for key in schema["required"] as? [String] ?? [] { #expect(object[key] != nil, "\(path).\(key) is required") }
    for key in object.keys { #expect(properties[key] != nil, "\(path).\(key) is not in the schema") }
  }
  check(manifest, against: schema, path: "kernel.json")
  let properties = schema["properties"] as? [String: Any] ?? [:]
  check(manifest["grid"] as? [String: Any] ?? [:], against: properties["grid"] as? [String: Any] ?? [:], path: "grid")
  check(
    manifest["projection"] as? [String: Any] ?? [:], against: properties["projection"] as? [String: Any] ?? [:],
    path: "projection")
  #expect(manifest["kind"] as? String == "proj-pntk")
  #expect(manifest["complete"] as? Bool == true)
}

/// A sparse projection's kernel.json, validated with Python's jsonschema (tools/setup.sh installs
/// it): the density defaults to 4 and is recorded; a dense projection's kernel.json with a density
/// added, or a sparse one without it, is rejected.
@Test func sparseProjectionIsRecordedAndTheSchemaChecksItsDensity() throws {
  let directory = try TestEnvironment.temporaryDirectory()
  defer { try? FileManager.default.removeItem(at: directory) }
  let out = directory.appendingPathComponent("k")
  let result = try runEntk(
    KernelCLI.arguments(out, kind: "proj-trntk", extra: ["--proj-dim", "16", "--proj-kind", "sparse"]))
  #expect(result.status == 0, "\(result.stderr)")
  let file = out.appendingPathComponent("kernel.json")
  let manifest = try JSONSerialization.jsonObject(with: Data(contentsOf: file)) as? [String: Any] ?? [:]
  let projection = manifest["projection"] as? [String: Any] ?? [:]
  #expect(projection["distribution"] as? String == "sparse" && projection["density"] as? Int == 4)
  var dense = manifest
  dense["projection"] = projection.merging(["distribution": "gaussian"]) { $1 }
  var missing = manifest
  missing["projection"] = projection.filter { $0.key != "density" }
  for (name, object) in [("dense-with-density.json", dense), ("sparse-without-density.json", missing)] {
    try JSONSerialization.data(withJSONObject: object).write(to: directory.appendingPathComponent(name))
  }
  let script = """
    import json, sys, jsonschema
    validator = jsonschema.Draft202012Validator(json.load(open(sys.argv[1])))
    print(" ".join(str(not list(validator.iter_errors(json.load(open(path)))) ) for path in sys.argv[2:]))
    """
  let check = try runCommand(
    URL(fileURLWithPath: "/usr/bin/env"),
    [
      "python3", "-c", script, TestEnvironment.repositoryRoot.appendingPathComponent("schemas/kernel.schema.json").path,
      file.path, directory.appendingPathComponent("dense-with-density.json").path,
      directory.appendingPathComponent("sparse-without-density.json").path,
    ])
  #expect(check.status == 0, "\(check.stderr)")
  #expect(check.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "True False False")
}

/// A budget that holds only one-sample tiles of whole Jacobians: the run still completes, and says
/// on stderr how often the tiling recomputes each sample's gradients and what avoids it.
@Test func tilesTooSmallForTheFeaturesAreReportedWithTheRecomputations() throws {
  let directory = try TestEnvironment.temporaryDirectory()
  defer { try? FileManager.default.removeItem(at: directory) }
  let result = try runEntk(
    KernelCLI.arguments(directory.appendingPathComponent("k"), extra: ["--factors", "off", "--memory", "1M"]))
  #expect(result.status == 0, "\(result.stderr)")
  // 24 samples in tiles of 1: 24 row passes and 276 column passes for the tiles above the diagonal.
  #expect(
    result.stderr.contains(
      "the 24×24 tile grid computes each sample's gradients 12.5 times on average (300 computations for 24 samples)"),
    "\(result.stderr)")
  #expect(result.stderr.contains("--kind proj-trntk or proj-pntk"))
}

/// Each bad input: a non-zero exit, a message naming the problem, and no output folder.
@Test(arguments: [
  ("data shape", ["--train", "SHAPE"], "does not hold samples of the model's input shape [20]", Int32(3)),
  ("NaN in data", ["--train", "NANDATA"], "NaN or infinite", 3),
  ("NaN in gradients", ["--model", "NANMODEL"], "Jacobian for sample 0 contains NaN or Inf", 3),
  ("unknown kind", ["--kind", "ntk"], "The value 'ntk' is invalid for '--kind <kind>'", 2),
  ("k = 0", ["--kind", "proj-trntk", "--proj-dim", "0"], "--proj-dim must be a positive integer", 2),
  ("k missing", ["--kind", "proj-pntk"], "needs --proj-dim", 2),
  // 8K: below one block even for example-c's factored rows (1739 floats per sample).
  ("memory too small", ["--memory", "8K"], "is too small: one block needs at least", 2),
  ("bad memory", ["--memory", "lots"], "expected a positive size", 2),
  ("bad factors", ["--factors", "maybe"], "The value 'maybe' is invalid for '--factors <factors>'", 2),
  (
    "bad proj-kind", ["--kind", "proj-trntk", "--proj-dim", "8", "--proj-kind", "fjlt"],
    "The value 'fjlt' is invalid for '--proj-kind <proj-kind>'", 2
  ),
  (
    "density of a dense projection", ["--kind", "proj-trntk", "--proj-dim", "8", "--proj-density", "2"],
    "is dense (use sparse or factored)", 2
  ),
  ("density without a projection", ["--proj-density", "4"], "--proj-density 4 given without --proj-dim", 2),
  (
    "density above k", ["--kind", "proj-pntk", "--proj-dim", "8", "--proj-kind", "sparse", "--proj-density", "9"],
    "--proj-density must be in 1...8", 2
  ),
])
func badInputFailsCleanly(label: String, overrides: [String], message: String, status: Int32) throws {
  let directory = try TestEnvironment.temporaryDirectory()
  defer { try? FileManager.default.removeItem(at: directory) }
  let shape = directory.appendingPathComponent("shape.npy")
  try NPYFile.write(NPYArray(float32: [Float](repeating: 0.5, count: 3 * 21), shape: [3, 21]), to: shape)
  let nanData = directory.appendingPathComponent("nan.npy")
  try NPYFile.write(
    NPYArray(float32: [0.1, 0.2, .nan] + [Float](repeating: 0, count: 37), shape: [2, 20]), to: nanData)
  let nanModel = directory.appendingPathComponent("nan-model")
  try FileManager.default.copyItem(at: KernelCLI.model, to: nanModel)
  var w2 = try NPYFile.read(nanModel.appendingPathComponent("W2.npy"))
  var values = w2.float32Values()
  values[0] = .nan
  w2 = NPYArray(float32: values, shape: w2.shape)
  try NPYFile.write(w2, to: nanModel.appendingPathComponent("W2.npy"))

  let out = directory.appendingPathComponent("out")
  var arguments = KernelCLI.arguments(out)
  var index = 0
  while index < overrides.count {
    let value = overrides[index + 1].replacingOccurrences(of: "SHAPE", with: shape.path)
      .replacingOccurrences(of: "NANDATA", with: nanData.path).replacingOccurrences(of: "NANMODEL", with: nanModel.path)
    if let position = arguments.firstIndex(of: overrides[index]) {
      arguments[position + 1] = value
    } else {
      arguments += [overrides[index], value]
    }
    index += 2
  }
  let result = try runEntk(arguments)
  #expect(result.status == status, "\(label): exit \(result.status), stderr \(result.stderr)")
  #expect(result.stderr.contains(message), "\(label): \(result.stderr)")
  #expect(!FileManager.default.fileExists(atPath: out.path), "\(label) left \(out.path) behind")
}
