import ArgumentParser
import BackendLoader
import Foundation
import Kernels

/// The options that define a kernel, shared by `entk kernel` and `entk plan` (a plan's tile
/// commands repeat them, so every tile run describes the same kernel).
struct KernelOptions: ParsableArguments {
  @OptionGroup var model: ModelOptions
  @Option(help: "Training samples (.npy or .csv, [N, ...input shape]).") var train: String
  @Option(help: "Test samples; the kernel is then test × train.") var test: String?
  @Option(help: "Kernel kind: entk, trntk, pntk, proj-trntk, proj-pntk, em, layers.") var kind: String
  @Option(name: .customLong("proj-dim"), help: "k, rows of the random projection (proj-* kinds).") var projDim: Int?
  @Option(name: .customLong("proj-kind"), help: "Projection entries: gaussian (N(0,1/k)) or rademacher (±1/√k).")
  var projKind: String = "gaussian"
  @Option(help: "Seed of the projection (docs/projection.md gives the exact generator).") var seed: UInt64 = 0
  @Option(help: "Normalisation: none or cosine.") var normalize: String = "none"
  @Option(help: "Memory budget for gradient blocks and tiles, e.g. 2G, 512M.") var memory: String = "2G"
  @Option(name: .customLong("tile-size"), help: "Samples per tile side (default: the largest that fits --memory).")
  var tileSize: Int?
  @Option(name: .customLong("batch-size"), help: "Samples per backend call.") var batchSize: Int = 64

  func validate() throws {
    if batchSize < 1 { throw ValidationError("--batch-size must be at least 1") }
    if let tileSize, tileSize < 1 { throw ValidationError("--tile-size must be at least 1") }
  }

  /// Everything a kernel run needs, checked before any output is written.
  struct Prepared {
    var request: KernelRequest
    var models: [BackendModel]
    var trainSet: SampleSet
    var rowSet: SampleSet
    var manifest: KernelManifest
  }

  /// Parses the settings, opens `modelCount` models, reads and checks the data, and sizes the tiles.
  func prepare(modelCount: Int, tile: String? = nil) throws -> Prepared {
    let request = try KernelRequest(
      kind: kind, projDim: projDim, projKind: projKind, seed: seed, normalize: normalize, memory: memory, tile: tile)
    let library = try BackendLibrary.load(model.backend)
    let models = try (0..<modelCount).map { _ in try library.open(model: model.model, options: model.options) }
    let description = models[0].description
    let trainSet = try SampleSet.read(URL(fileURLWithPath: train), inputShape: description.inputShape)
    let testSet = try test.map { try SampleSet.read(URL(fileURLWithPath: $0), inputShape: description.inputShape) }
    if request.kind == .em && description.embeddingSize == 0 {
      throw KernelError.unsupportedByModel(kind: .em, reason: "the backend reports embedding size 0")
    }
    let rowSet = testSet ?? trainSet
    let sizing = TileSizing(
      kind: request.kind, description: description, projectionDim: request.projection?.dim ?? 0, batchSize: batchSize)
    let side: Int
    if let tileSize {
      let needed = sizing.bytes(rows: min(tileSize, rowSet.count), columns: min(tileSize, trainSet.count))
      guard needed <= request.memory else {
        throw KernelError.memoryTooSmall(budget: request.memory, required: needed, detail: "--tile-size \(tileSize)")
      }
      side = tileSize
    } else {
      side = try sizing.tileSide(budget: request.memory, rows: rowSet.count, columns: trainSet.count)
    }
    let grid = TileGrid(
      rows: rowSet.count, columns: trainSet.count, tileRows: side, tileColumns: side, symmetric: testSet == nil)
    if let only = request.tile, !grid.contains(only) {
      throw KernelError.tileOutOfRange(
        row: only.row, column: only.column, grid: [grid.rowTiles, grid.columnTiles], symmetric: grid.symmetric)
    }
    let manifest = KernelManifest(
      kind: request.kind, normalize: request.normalize, projection: request.projection, backend: library.name,
      model: Self.absolute(model.model), options: model.options, rows: rowSet, columns: trainSet,
      description: description, grid: grid)
    return Prepared(request: request, models: models, trainSet: trainSet, rowSet: rowSet, manifest: manifest)
  }

  /// The options as `entk kernel` arguments with absolute paths and the given tile side, so a
  /// tile command run from any folder computes a tile of the same kernel.
  func arguments(tileSide: Int) -> [String] {
    var arguments = ["--backend", model.backend, "--model", Self.absolute(model.model)]
    if let options = model.options { arguments += ["--options", options] }
    arguments += ["--train", Self.absolute(train)]
    if let test { arguments += ["--test", Self.absolute(test)] }
    arguments += ["--kind", kind]
    if let projDim { arguments += ["--proj-dim", String(projDim), "--proj-kind", projKind, "--seed", String(seed)] }
    arguments += ["--normalize", normalize, "--memory", memory, "--tile-size", String(tileSide)]
    arguments += ["--batch-size", String(batchSize)]
    return arguments
  }

  /// An existing path made absolute; anything else (a backend's non-path model name) unchanged.
  static func absolute(_ path: String) -> String {
    FileManager.default.fileExists(atPath: path) ? URL(fileURLWithPath: path).standardizedFileURL.path : path
  }
}

/// The kernel settings given as text on the command line, parsed into typed values before any
/// work starts.
struct KernelRequest {
  var kind: KernelKind
  var projection: ProjectionSettings?
  var normalize: KernelNormalization
  var memory: Int
  var tile: TileIndex?

  init(
    kind kindName: String, projDim: Int?, projKind: String, seed: UInt64, normalize: String, memory: String,
    tile: String?
  ) throws {
    guard let kind = KernelKind(rawValue: kindName) else { throw KernelError.unknownKind(kindName) }
    self.kind = kind
    guard let distribution = ProjectionDistribution(rawValue: projKind) else {
      throw KernelError.badArgument(option: "--proj-kind", value: projKind, reason: "expected gaussian or rademacher")
    }
    if kind.isProjected {
      guard let projDim else { throw KernelError.projection("kind '\(kind.rawValue)' needs --proj-dim k") }
      guard projDim > 0, projDim <= 1 << 32 else {
        throw KernelError.projection("--proj-dim must be a positive integer, got \(projDim)")
      }
      projection = ProjectionSettings(dim: projDim, distribution: distribution, seed: seed)
    } else if let projDim {
      throw KernelError.projection(
        "--proj-dim \(projDim) given, but kind '\(kind.rawValue)' is not projected (use proj-trntk or proj-pntk)")
    }
    guard let normalization = KernelNormalization(rawValue: normalize) else {
      throw KernelError.badArgument(option: "--normalize", value: normalize, reason: "expected none or cosine")
    }
    self.normalize = normalization
    self.memory = try MemoryBudget(parsing: memory).bytes
    if let tile {
      let parts = tile.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
      guard parts.count == 2, let row = parts[0], let column = parts[1], row >= 0, column >= 0 else {
        throw KernelError.badArgument(
          option: "--tile", value: tile, reason: "expected ROW,COL, two non-negative integers")
      }
      self.tile = TileIndex(row: row, column: column)
    }
  }
}
