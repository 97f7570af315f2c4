import ArrayIO
import EntkTestSupport
import Foundation
import Testing

/// The command line with a model of two int64 inputs (the token-count backend): `.npz` and
/// `NAME=FILE` data for kernel, plan, attribute, check-backend and inspect.
@Suite struct MultiInputCommandTests {
  let backend: URL
  let directory: URL

  init() throws {
    backend = try TokenBackend.compile()
    directory = try TestEnvironment.temporaryDirectory("tokens-cli")
  }

  var model: [String] { ["--backend", backend.path, "--model", backend.path] }
  func path(_ name: String) -> String { directory.appendingPathComponent(name).path }
  func named(_ split: String) -> [String] {
    [
      "--\(split)", "input_ids=\(TokenBackend.data("\(split)_ids.npy").path)",
      "--\(split)", "attention_mask=\(TokenBackend.data("\(split)_mask.npy").path)",
    ]
  }

  /// trntk between the fixture's splits in closed form, C (n_x·n_x' + 1).
  func expectedTrntk(rows: String, columns: String) throws -> [Double] {
    func counts(_ split: String) throws -> [[Double]] {
      TokenBackend.counts(
        ids: try NPYFile.read(TokenBackend.data("\(split)_ids.npy")).int64Values(),
        masks: try NPYFile.read(TokenBackend.data("\(split)_mask.npy")).int64Values())
    }
    let (a, b) = (try counts(rows), try counts(columns))
    return a.flatMap { x in b.map { TokenBackend.trntk(x, $0) } }
  }

  @Test func kernelFromAnArchiveAndFromNamedFilesIsTheClosedForm() throws {
    let fromArchive = try runEntk(
      ["kernel"] + model + [
        "--train", TokenBackend.data("train.npz").path, "--test", TokenBackend.data("test.npz").path, "--kind", "trntk",
        "--out", path("archive"),
      ])
    #expect(fromArchive.status == 0, "\(fromArchive.stderr)")
    let fromNamed = try runEntk(
      ["kernel"] + model + named("train") + named("test") + ["--kind", "trntk", "--out", path("named")])
    #expect(fromNamed.status == 0, "\(fromNamed.stderr)")
    let expected = try expectedTrntk(rows: "test", columns: "train")
    for folder in ["archive", "named"] {
      let kernel = try NPYFile.read(URL(fileURLWithPath: path("\(folder)/kernel.npy")))
      #expect(kernel.shape == [3, 7])
      #expect(zip(kernel.float64Values(), expected).allSatisfy { abs($0 - $1) < 1e-5 }, "\(folder)")
    }
    let manifest = try String(contentsOfFile: path("named/kernel.json"), encoding: .utf8)
    #expect(manifest.contains("input_ids=") && manifest.contains(",attention_mask="))
  }

  /// The table's gradient as a sum of one-hot terms (ABI 1.3) gives the kernels of the whole
  /// Jacobians, for every factorable kind (pntk through `factored_vjp_inputs`), normalised or not,
  /// and keeps its bits across tilings.
  @Test(arguments: ["trntk", "layers", "entk", "pntk"])
  func summedOneHotFactorsGiveTheKernelsOfWholeJacobians(kind: String) throws {
    func kernel(_ factors: String, _ extra: [String], _ name: String) throws -> [Float] {
      let result = try runEntk(
        ["kernel"] + model + [
          "--train", TokenBackend.data("train.npz").path, "--kind", kind, "--factors", factors, "--out", path(name),
          "--json",
        ] + extra)
      #expect(result.status == 0, "\(result.stderr)")
      let summary = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
      #expect(summary["factored"] as? Bool == (factors == "auto"))
      return try NPYFile.read(URL(fileURLWithPath: path("\(name)/kernel.npy"))).float32Values()
    }
    for normalize in ["none", "cosine"] {
      let factored = try kernel("auto", ["--normalize", normalize], "auto-\(normalize)")
      let whole = try kernel("off", ["--normalize", normalize], "off-\(normalize)")
      #expect(zip(factored, whole).allSatisfy { abs($0 - $1) <= 1e-6 * max(1, abs($1)) }, "\(kind) \(normalize)")
      let tiled = try kernel(
        "auto", ["--normalize", normalize, "--tile-size", "3", "--batch-size", "2"], "tiled-\(normalize)")
      #expect(tiled == factored, "\(kind) \(normalize): tiling changed bits")
    }
    if kind == "trntk" || kind == "pntk" {
      // pntk's gradient Σ_c g_c/√C has g·g' = n·n' + 1: trntk divided by C.
      let expected = try expectedTrntk(rows: "train", columns: "train").map {
        kind == "pntk" ? $0 / Double(TokenBackend.classes) : $0
      }
      let factored = try kernel("auto", [], "closed-form")
      #expect(zip(factored, expected).allSatisfy { abs(Double($0) - $1) < 1e-5 })
    }
  }

  @Test func aPlanRepeatsEveryNamedFileInItsTileCommands() throws {
    let result = try runEntk(["plan"] + model + named("train") + ["--kind", "pntk", "--out", path("plan"), "--json"])
    #expect(result.status == 0, "\(result.stderr)")
    let plan = try #require(
      try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path("plan/plan.json"))))
        as? [String: Any])
    let tiles = try #require(plan["tiles"] as? [[String: Any]])
    let command = try #require(tiles.first?["command"] as? [String])
    let trains = command.indices.filter { command[$0] == "--train" }.map { command[$0 + 1] }
    #expect(
      trains == [
        "input_ids=\(TokenBackend.data("train_ids.npy").path)",
        "attention_mask=\(TokenBackend.data("train_mask.npy").path)",
      ])
    let run = try runEntk(Array(command.dropFirst()))
    #expect(run.status == 0, "\(run.stderr)")
  }

  @Test(arguments: [
    ("one .npy for two inputs", ["--train", "IDS"], "give a .npz with arrays named input_ids, attention_mask"),
    ("a missing input", ["--train", "input_ids=IDS"], "no array for the model input 'attention_mask'"),
    ("an unknown input", ["--train", "input_ids=IDS", "--train", "mask=MASK"], "'mask' is not an input of the model"),
    ("two plain files", ["--train", "IDS", "--train", "MASK"], "several files must each be NAME=PATH"),
    ("float token ids", ["--train", "input_ids=FLOATS", "--train", "attention_mask=MASK"], "holds float32 values"),
  ])
  func badDataIsRefusedByNameWithExitCode3(label: String, train: [String], message: String) throws {
    let floats = directory.appendingPathComponent("floats.npy")
    try NPYFile.write(NPYArray(float32: [Float](repeating: 1, count: 28), shape: [7, 4]), to: floats)
    let substituted = train.map {
      $0.replacingOccurrences(of: "IDS", with: TokenBackend.data("train_ids.npy").path)
        .replacingOccurrences(of: "MASK", with: TokenBackend.data("train_mask.npy").path)
        .replacingOccurrences(of: "FLOATS", with: floats.path)
    }
    let result = try runEntk(["kernel"] + model + substituted + ["--kind", "trntk", "--out", path("bad")])
    #expect(result.status == 3, "\(label): \(result.stderr)")
    #expect(result.stderr.contains(message), "\(label): \(result.stderr)")
    #expect(!FileManager.default.fileExists(atPath: path("bad/kernel.npy")))
  }

  @Test func attributeComputesKernelsAndLogitsFromArchivesAndRecordsEachArray() throws {
    let result = try runEntk(
      ["attribute"] + model + [
        "--train", TokenBackend.data("train.npz").path, "--test", TokenBackend.data("test.npz").path,
        "--train-labels", TokenBackend.data("train_labels.npy").path, "--test-labels",
        TokenBackend.data("test_labels.npy").path, "--kind", "trntk", "--threads", "1", "--out", path("bundle"),
      ])
    #expect(result.status == 0, "\(result.stderr)")
    let manifest = try #require(
      try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path("bundle/manifest.json"))))
        as? [String: Any])
    let records = try #require(manifest["data"] as? [[String: Any]])
    let inputs = records.filter { ($0["role"] as? String)?.hasSuffix("-inputs") == true }
    #expect(
      inputs.compactMap { $0["input"] as? String } == ["input_ids", "attention_mask", "input_ids", "attention_mask"])
    // Token ids are no pictures: the bundle keeps no input arrays.
    #expect(!FileManager.default.fileExists(atPath: path("bundle/train_inputs.npy")))
    let validation = try runCommand(
      URL(fileURLWithPath: "/usr/bin/env"),
      [
        "python3", TestEnvironment.repositoryRoot.appendingPathComponent("tools/validate_bundle.py").path,
        path("bundle"),
      ])
    #expect(validation.status == 0, "\(validation.stdout)\(validation.stderr)")
  }

  @Test func checkBackendAndInspectDescribeTheInputs() throws {
    let check = try runEntk(
      ["check-backend", "--backend", backend.path, "--model", backend.path]
        + named("train").map {
          $0 == "--train" ? "--data" : $0
        })
    #expect(check.status == 0, "\(check.stdout)\(check.stderr)")
    #expect(check.stdout.contains("PASS  inputs-legacy-slots"))
    let broken = try TokenBackend.compile("BREAK_LEGACY_ACCEPTS")
    let failing = try runEntk(["check-backend", "--backend", broken.path, "--model", broken.path])
    #expect(failing.status == 1 && failing.stdout.contains("FAIL  inputs-legacy-slots"))
    let inspect = try runEntk(["inspect"] + model + ["--json"])
    let report = try #require(try JSONSerialization.jsonObject(with: Data(inspect.stdout.utf8)) as? [String: Any])
    let description = try #require(report["description"] as? [String: Any])
    let inputs = try #require(description["inputs"] as? [[String: Any]])
    #expect(inputs.compactMap { $0["name"] as? String } == ["input_ids", "attention_mask"])
    #expect(inputs.compactMap { $0["elementType"] as? String } == ["int64", "int64"])
  }
}

/// The whole command line on text models as exported (int64 ids and masks, padded samples): the
/// trntk kernel of each fixture equals J Jᵀ of its PyTorch float64 Jacobian
/// (`tools/fixtures/export_text_fixtures.py`).
@Test(arguments: ["bert-legacy14", "distilbert-dynamo18", "roberta-legacy17"])
func textModelKernelsFromTheCommandLineMatchPyTorch(model: String) throws {
  let name = String(model.prefix { $0 != "-" })
  let folder = TestEnvironment.fixture("onnx")
  let inputs = ["input_ids", "attention_mask"] + (name == "bert" ? ["token_type_ids"] : [])
  let directory = try TestEnvironment.temporaryDirectory("text-kernel")
  defer { try? FileManager.default.removeItem(at: directory) }
  let result = try runEntk(
    [
      "kernel", "--backend", "onnx", "--model", folder.appendingPathComponent("\(model).onnx").path, "--options",
      #"{"dims": {"sequence": 8}}"#, "--kind", "trntk", "--out", directory.appendingPathComponent("k").path,
    ] + inputs.flatMap { ["--train", "\($0)=\(folder.appendingPathComponent("\(name)-\($0).npy").path)"] })
  #expect(result.status == 0, "\(result.stderr)")
  let kernel = try NPYFile.read(directory.appendingPathComponent("k/kernel.npy")).float64Values()
  let jacobian = try NPYFile.read(folder.appendingPathComponent("\(name)-jacobian.npy"))
  let n = jacobian.shape[0]
  let row = jacobian.count / n
  let values = jacobian.float64Values()
  var worst = 0.0
  var scale = 0.0
  for i in 0..<n {
    for j in 0..<n {
      let exact = (0..<row).reduce(0.0) { $0 + values[i * row + $1] * values[j * row + $1] }
      worst = max(worst, abs(kernel[i * n + j] - exact))
      scale = max(scale, abs(exact))
    }
  }
  #expect(worst <= 1e-5 * scale, "\(model): max |Δ| \(worst) of \(scale)")
}
