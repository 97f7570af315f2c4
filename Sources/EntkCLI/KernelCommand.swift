import ArgumentParser
import BackendLoader
import COpenBLAS
import Foundation
import Kernels

struct KernelCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "kernel",
    abstract: "Compute an empirical NTK (or a projection, layer-wise or embedding kernel) into a folder.",
    discussion: """
      Without --test the kernel is train × train (symmetric: only tiles on and above the diagonal \
      are computed); with --test it is test × train. Kinds: entk (C×C blocks, [N, M, C, C]), trntk, \
      pntk, proj-trntk, proj-pntk (need --proj-dim), em, layers ([L, N, M]). Definitions: DESIGN.md.

      The kernel is cut into tiles that fit --memory; each finished tile is written atomically \
      to DIR/tiles with a checksum sidecar, so an interrupted run resumes where it stopped. Without \
      --tile, all tiles are computed and merged into DIR/kernel.npy (float32; numpy.load reads it) \
      and DIR/kernel.json describes the settings. With --tile ROW,COL only that tile is computed; \
      run `entk merge DIR` once all are done.
      """)

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
  @Option(help: "Compute only this tile, ROW,COL (0-based), and do not merge.") var tile: String?
  @Option(name: .customLong("batch-size"), help: "Samples per backend call.") var batchSize: Int = 64
  @Option(help: "Threads: backend models working in parallel and OpenBLAS threads (default: all cores).")
  var threads: Int = ProcessInfo.processInfo.activeProcessorCount
  @Option(help: "Output folder.") var out: String
  @Flag(help: "Print a JSON summary on stdout.") var json = false

  func validate() throws {
    if batchSize < 1 { throw ValidationError("--batch-size must be at least 1") }
    if threads < 1 { throw ValidationError("--threads must be at least 1") }
    if let tileSize, tileSize < 1 { throw ValidationError("--tile-size must be at least 1") }
  }

  struct Summary: Encodable {
    var out: String
    var file: String?
    var kind: String
    var shape: [Int]
    var grid: [Int]
    var complete: Bool
    var run: KernelRunReport
    var seconds: Double
    var gramGFLOPS: Double
  }

  func run() throws {
    let started = Date()
    let request = try KernelRequest(
      kind: kind, projDim: projDim, projKind: projKind, seed: seed, normalize: normalize, memory: memory, tile: tile)
    openblas_set_num_threads(Int32(threads))
    let library = try BackendLibrary.load(model.backend)
    let models = try (0..<threads).map { _ in try library.open(model: model.model, options: model.options) }
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
    let modelPath =
      FileManager.default.fileExists(atPath: model.model)
      ? URL(fileURLWithPath: model.model).standardizedFileURL.path : model.model
    let manifest = KernelManifest(
      kind: request.kind, normalize: request.normalize, projection: request.projection, backend: library.name,
      model: modelPath,
      options: model.options, rows: rowSet, columns: trainSet, description: description, grid: grid)

    let directory = URL(fileURLWithPath: out)
    let createdDirectory = !FileManager.default.fileExists(atPath: directory.path)
    if let existing = try KernelManifest.read(directory: directory) {
      if let field = manifest.differingSetting(from: existing) {
        throw KernelError.settingsMismatch(directory: directory.path, field: field)
      }
      if existing.complete && request.tile == nil
        && FileManager.default.fileExists(atPath: directory.appendingPathComponent(existing.file).path)
      {
        if !json { printError("kernel: \(directory.path) is already complete") }
        if json {
          try printJSON(
            Summary(
              out: directory.path, file: directory.appendingPathComponent(existing.file).path,
              kind: existing.kind.rawValue, shape: existing.shape,
              grid: [grid.rowTiles, grid.columnTiles], complete: true,
              run: KernelRunReport(skippingAll: grid.tiles.count),
              seconds: Date().timeIntervalSince(started), gramGFLOPS: 0))
        }
        return
      }
    }
    do {
      try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
      var current = manifest
      current.complete = false
      try current.write(directory: directory)
      let projection = request.projection.map {
        CounterProjection(rows: $0.dim, columns: description.numParams, distribution: $0.distribution, seed: $0.seed)
      }
      let producer = FeatureProducer(kind: request.kind, models: models, projection: projection, batchSize: batchSize)
      let computation = KernelComputation(
        manifest: current, producer: producer, rowSet: rowSet, columnSet: trainSet, directory: directory)
      var lastReport = Date.distantPast
      let report = try computation.run(request.tile.map { [$0] }) { progress in
        guard Date().timeIntervalSince(lastReport) >= 1 || progress.done == progress.total else { return }
        lastReport = Date()
        let eta = progress.remaining.map { String(format: "%.0fs", $0) } ?? "?"
        printError(
          String(
            format: "kernel: tile %d/%d  %.2f tiles/s  elapsed %.1fs  ETA %@", progress.done, progress.total,
            progress.rate, progress.elapsed, eta))
      }
      var file: String?
      var complete = false
      if request.tile == nil {
        let merged = try KernelMerge.merge(directory: directory)
        try? FileManager.default.removeItem(at: computation.store.directory)
        file = directory.appendingPathComponent(merged.file).path
        complete = true
      }
      let seconds = Date().timeIntervalSince(started)
      if json {
        try printJSON(
          Summary(
            out: directory.path, file: file, kind: request.kind.rawValue, shape: manifest.shape,
            grid: [grid.rowTiles, grid.columnTiles],
            complete: complete, run: report, seconds: seconds,
            gramGFLOPS: report.gramSeconds > 0 ? report.gramFlops / report.gramSeconds / 1e9 : 0))
      } else {
        printError(
          "kernel: \(complete ? "wrote \(file ?? "")" : "tile \(request.tile?.description ?? "") done") in \(String(format: "%.2f", seconds))s"
        )
      }
    } catch {
      // No partial output: a folder this run created goes away whole; in an existing folder only
      // finished tiles (valid on their own) remain.
      if createdDirectory { try? FileManager.default.removeItem(at: directory) }
      throw error
    }
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
