import ArrayIO
import BackendLoader
import EntkTestSupport
import Foundation
import Kernels
import Testing

/// `KernelJob`, the orchestration shared by `entk kernel`, `entk plan` and `entk attribute --kind`.
enum KernelJobFixture {
  static let fixture = KernelFixture.exampleMLP

  static func job(_ settings: KernelSettings, model: URL = fixture.model, test: Bool = false) throws -> KernelJob {
    try KernelJob(
      settings: settings, library: BackendLibrary.load(fixture.backend), model: model.path, options: nil,
      train: .file(fixture.folder.appendingPathComponent(fixture.train)),
      test: test ? .file(fixture.folder.appendingPathComponent(fixture.test)) : nil, threads: 1)
  }
}

@Test func jobComputesMergesThenFindsTheFolderCompleteAndRefusesOtherSettings() throws {
  let directory = try TestEnvironment.temporaryDirectory()
  defer { try? FileManager.default.removeItem(at: directory) }
  let out = directory.appendingPathComponent("kernel")
  let settings = try KernelSettings(kind: .trntk, normalize: .cosine, tileSize: 10)
  var seen: [TileProgress] = []
  // 24 samples in tiles of 10: a symmetric 3×3 grid, 6 tiles with ROW ≤ COL.
  let first = try KernelJobFixture.job(settings).run(in: out) { seen.append($0) }
  #expect(!first.alreadyComplete && first.run.computed == 6 && first.run.skipped == 0)
  #expect(seen.map(\.done) == Array(1...6) && seen.allSatisfy { $0.total == 6 })
  #expect(first.manifest.complete && first.manifest.checksum != nil)
  #expect(first.file == out.appendingPathComponent("kernel.npy"))
  #expect(!FileManager.default.fileExists(atPath: out.appendingPathComponent("tiles").path))
  #expect(try NPYFile.read(out.appendingPathComponent("kernel.npy")).shape == [24, 24])
  // The same values as the one-tile kernel of the harness.
  let reference = try KernelRun(kind: .trntk, normalize: .cosine).compute().values
  let values = try NPYFile.read(out.appendingPathComponent("kernel.npy")).float32Values()
  #expect(relativeError(values, reference.map(Double.init)) <= 1e-6)

  let again = try KernelJobFixture.job(settings).run(in: out)
  #expect(again.alreadyComplete && again.run.computed == 0 && again.run.skipped == 6)

  let other = try KernelSettings(kind: .trntk, normalize: .none, tileSize: 10)
  #expect(throws: KernelError.settingsMismatch(directory: out.path, field: "normalize")) {
    try KernelJobFixture.job(other).run(in: out)
  }
}

@Test func oneTileRunDoesNotMergeAndATileOutsideTheGridWritesNothing() throws {
  let directory = try TestEnvironment.temporaryDirectory()
  defer { try? FileManager.default.removeItem(at: directory) }
  let out = directory.appendingPathComponent("kernel")
  let job = try KernelJobFixture.job(KernelSettings(kind: .pntk, tileSize: 10))
  #expect(throws: KernelError.tileOutOfRange(row: 2, column: 1, grid: [3, 3], symmetric: true)) {
    try job.run(in: out, tile: TileIndex(row: 2, column: 1))
  }
  #expect(!FileManager.default.fileExists(atPath: out.path))
  let one = try job.run(in: out, tile: TileIndex(row: 1, column: 2))
  #expect(one.file == nil && one.run.computed == 1 && !one.manifest.complete)
  #expect(!FileManager.default.fileExists(atPath: out.appendingPathComponent("kernel.npy").path))
  #expect(FileManager.default.fileExists(atPath: out.appendingPathComponent("tiles/tile-1-2.json").path))
}

@Test func failedJobRemovesTheFolderItCreatedButNotAnExistingOne() throws {
  let directory = try TestEnvironment.temporaryDirectory()
  defer { try? FileManager.default.removeItem(at: directory) }
  // A model whose second weight matrix holds a NaN: its Jacobians are NaN, found mid-run.
  let nanModel = directory.appendingPathComponent("nan-model")
  try FileManager.default.copyItem(at: KernelJobFixture.fixture.model, to: nanModel)
  let w2 = try NPYFile.read(nanModel.appendingPathComponent("W2.npy"))
  var values = w2.float32Values()
  values[0] = .nan
  try NPYFile.write(NPYArray(float32: values, shape: w2.shape), to: nanModel.appendingPathComponent("W2.npy"))
  let job = try KernelJobFixture.job(KernelSettings(kind: .trntk), model: nanModel, test: true)

  let fresh = directory.appendingPathComponent("fresh")
  #expect(throws: KernelError.self) { try job.run(in: fresh) }
  #expect(!FileManager.default.fileExists(atPath: fresh.path))
  // Folders created on the way to the output go too.
  let nested = directory.appendingPathComponent("a/b/out")
  #expect(throws: KernelError.self) { try job.run(in: nested) }
  #expect(!FileManager.default.fileExists(atPath: directory.appendingPathComponent("a").path))

  let existing = directory.appendingPathComponent("existing")
  try FileManager.default.createDirectory(at: existing, withIntermediateDirectories: true)
  #expect(throws: KernelError.self) { try job.run(in: existing) }
  #expect(FileManager.default.fileExists(atPath: existing.path))
  #expect(!FileManager.default.fileExists(atPath: existing.appendingPathComponent("kernel.npy").path))
}

@Test func settingsRejectAProjectionThatDoesNotFitTheKind() throws {
  #expect(throws: KernelError.projection("kind 'proj-trntk' needs --proj-dim k")) {
    try KernelSettings(kind: .projTrntk)
  }
  let projection = ProjectionSettings(dim: 8, distribution: .gaussian, seed: 1)
  #expect(throws: KernelError.self) { try KernelSettings(kind: .trntk, projection: projection) }
  #expect(throws: KernelError.self) {
    try KernelSettings(kind: .projPntk, projection: ProjectionSettings(dim: 0, distribution: .gaussian, seed: 1))
  }
  #expect(throws: KernelError.self) { try KernelSettings(kind: .em, batchSize: 0) }
  #expect(throws: KernelError.self) { try KernelSettings(kind: .em, tileSize: 0) }
  #expect(try KernelSettings(kind: .projPntk, projection: projection).projection == projection)
}

/// Without --batch-size, a budget that holds only a few samples' gradients gets batches of that
/// many, and the kernel has the same bits as with the default batch.
@Test func automaticBatchFitsHalfTheBudgetAndKeepsTheKernel() throws {
  let directory = try TestEnvironment.temporaryDirectory()
  defer { try? FileManager.default.removeItem(at: directory) }
  let projection = ProjectionSettings(dim: 16, distribution: .gaussian, seed: 2)
  // The fixture's proj-trntk gradients are 4 × 18504 floats (296 kB) per sample; the rest of the
  // scratch (R chunk, block copies) is about 2.4 MB; 16 MiB leaves room for a one-tile kernel.
  let settings = try KernelSettings(kind: .projTrntk, projection: projection, memory: 16 << 20)
  let job = try KernelJobFixture.job(settings)
  let description = try KernelJobFixture.fixture.models(1)[0].description
  let sizing = TileSizing(kind: .projTrntk, description: description, projection: projection, batchSize: 1)
  #expect(job.batchSize > 1 && job.batchSize < 64)
  #expect(sizing.scratchBytes(batchSize: job.batchSize) <= 8 << 20)
  #expect(sizing.scratchBytes(batchSize: job.batchSize + 1) > 8 << 20)
  let values = try NPYFile.read(try #require(try job.run(in: directory.appendingPathComponent("k")).file))
  let baseline = try KernelRun(kind: .projTrntk, projection: projection).compute().values
  #expect(differingBits(values.float32Values(), baseline) == 0)
}

/// Each sample's gradients are computed once per tile row it is in and once per tile off the
/// diagonal it is a column of; a one-tile grid computes each once and says nothing.
@Test func recomputationCountsTheGradientPassesOfTheTiling() throws {
  let settings = { (tile: Int) in try KernelSettings(kind: .trntk, memory: 1 << 40, tileSize: tile, factors: .off) }
  #expect(try KernelJobFixture.job(settings(24)).recomputation == nil)
  // 24 samples in tiles of 10: rows of tiles [0,10) [10,20) [20,24); symmetric, so tiles (r, c≥r).
  // Row features: 10 + 10 + 4; column features of tiles (0,1), (0,2), (1,2): 10 + 4 + 4.
  let tiled = try #require(try KernelJobFixture.job(settings(10)).recomputation)
  #expect(tiled.passes == 42 && tiled.samples == 24 && tiled.grid == [3, 3] && tiled.tileSide == 10)
  #expect(tiled.description.contains("in tiles of --tile-size 10 samples"))
  #expect(tiled.description.contains("1.8 times on average (42 computations for 24 samples)"))
  #expect(tiled.description.contains("--kind proj-trntk or proj-pntk"))
  // Test × train (7 × 24) in tiles of 5: test rows [0,5) [5,7) each once, 5 column tiles per row.
  let test = try #require(try KernelJobFixture.job(settings(5), test: true).recomputation)
  #expect(test.passes == 7 + 2 * 24 && test.samples == 31)
}

/// trntk = Σ_c Gram(g_c): when the features of whole Jacobians or factored rows would make the
/// tiling compute them again, the job computes one class at a time (P floats a sample), with
/// torch.func's kernel's values and, across tilings of that path, the same bits.
@Test func trntkGoesClassByClassWhenItsFeaturesWouldBeRecomputed() throws {
  let directory = try TestEnvironment.temporaryDirectory()
  defer { try? FileManager.default.removeItem(at: directory) }
  let fixture = KernelFixture.onnxCNN
  let job = { (memory: Int, factors: FactorUse) in
    try KernelJob(
      settings: KernelSettings(kind: .trntk, memory: memory, factors: factors),
      library: BackendLibrary.load(fixture.backend), model: fixture.model.path, options: nil,
      train: .file(fixture.folder.appendingPathComponent(fixture.train)), test: nil, threads: 1)
  }
  // The digits CNN's factored rows are 49,674 floats (199 kB) a sample, one class's gradients
  // 13,706 (55 kB): 8 samples need 3.2 MB as rows, 0.9 MB class by class.
  #expect(try job(1 << 30, .auto).manifest.classSliced == nil)
  let sliced = try job(3 << 19, .auto)
  #expect(sliced.manifest.classSliced == true && sliced.manifest.grid.tileRows == 8)
  #expect(sliced.recomputation == nil)
  let values = try NPYFile.read(try #require(try sliced.run(in: directory.appendingPathComponent("a")).file))
  let reference = try NPYFile.read(fixture.folder.appendingPathComponent("trntk_train.npy"))
  #expect(relativeError(values.float32Values(), reference.float64Values()) <= 1e-5)
  #expect(try KernelManifest.read(directory: directory.appendingPathComponent("a"))?.classSliced == true)

  // Too little for one sample's factored rows: class by class it still runs, in smaller tiles.
  let tiled = try job(300 << 10, .auto)
  #expect(tiled.manifest.classSliced == true && tiled.manifest.grid.tileRows < 8)
  let tiledValues = try NPYFile.read(try #require(try tiled.run(in: directory.appendingPathComponent("b")).file))
  #expect(differingBits(tiledValues.float32Values(), values.float32Values()) == 0)

  // --factors off keeps whole Jacobians, and a folder of one path is not resumed by the other.
  let whole = try job(3 << 19, .off)
  #expect(whole.manifest.classSliced == nil && whole.manifest.grid.tileRows < 8)
  #expect(
    throws: KernelError.settingsMismatch(directory: directory.appendingPathComponent("a").path, field: "classSliced")
  ) {
    try whole.run(in: directory.appendingPathComponent("a"))
  }
}
