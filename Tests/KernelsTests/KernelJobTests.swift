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
      train: fixture.folder.appendingPathComponent(fixture.train),
      test: test ? fixture.folder.appendingPathComponent(fixture.test) : nil, threads: 1)
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
