import ArrayIO
import BackendLoader
import Foundation

/// One kernel computed into a folder: the orchestration behind `entk kernel`, `entk plan` and
/// `entk attribute --kind`.
///
/// Creating a job does every check that needs no output: it opens one model per thread, reads the
/// samples against the model's input shape, and sizes the tile grid into a `KernelManifest`.
/// `run` then fills the folder: `kernel.json`, finished tiles in `tiles/` (each atomic with a
/// checksum sidecar, so an interrupted run resumes), and, for a whole-kernel run, the merged
/// `kernel.npy` with the tiles removed.
public final class KernelJob {
  public let settings: KernelSettings
  /// The folder's description: settings, data checksums, model shapes and tile grid.
  public let manifest: KernelManifest
  /// Models working in parallel, and the threads sharing the Gram panels (OpenBLAS runs on one).
  public let threads: Int
  /// Samples per backend call: `settings.batchSize`, or when that is nil the largest up to
  /// `KernelSettings.defaultBatchSize` whose scratch takes at most half of `settings.memory`.
  public let batchSize: Int
  /// Bytes of one sample's features.
  public let featureBytes: Int
  private let models: [BackendModel]
  /// The row layout when the kernel is computed from the backend's per-layer factors.
  private let factors: FactorLayout?
  /// Whether `trntk` is computed one class at a time (`KernelManifest.classSliced`).
  private let classSliced: Bool
  /// With `--proj-kind factored`, the layout of the rows it projects (nil: plain gradients).
  private let projectionFactors: FactorLayout?
  private let rowSet: SampleSet
  private let trainSet: SampleSet

  /// Opens the models and reads the samples; the kernel is train × train (symmetric, only tiles on
  /// and above the diagonal are computed) without `test`, else test × train.
  ///
  /// - Parameters:
  ///   - model: the model file or folder, recorded in `kernel.json` as given (pass an absolute path
  ///     so the folder stays meaningful from anywhere).
  ///   - options: backend-specific options as a JSON object, or nil.
  ///   - train, test: the samples (`SampleSet.read` says what a source may hold).
  ///   - threads: models opened, 1...`maximumThreads`.
  /// - Throws: `BackendLoadError`/`BackendCallError` from the backend, `NPYError`/`CSVError`/`NPZError` and
  ///   `SampleDataError` for the data, `KernelError.unsupportedByModel` for `em` without an
  ///   embedding, `KernelError.memoryTooSmall` when `settings.memory` cannot hold a tile,
  ///   `KernelError.badArgument` for `threads` out of range, a `--tile-size` giving more than
  ///   `TileGrid.maximumTiles` tiles, or a tile needing more than the machine's physical memory.
  public init(
    settings: KernelSettings, library: BackendLibrary, model: String, options: String?, train: DataSource,
    test: DataSource?,
    threads: Int
  ) throws {
    try Self.checkThreads(threads)
    self.settings = settings
    self.threads = threads
    models = try (0..<threads).map { _ in try library.open(model: model, options: options) }
    let description = models[0].description
    trainSet = try SampleSet.read(train, inputs: description.inputs)
    let testSet = try test.map { try SampleSet.read($0, inputs: description.inputs) }
    if settings.kind == .em && description.embeddingSize == 0 {
      throw KernelError.unsupportedByModel(kind: .em, reason: "the backend reports embedding size 0")
    }
    rowSet = testSet ?? trainSet
    let factorable = settings.factors == .auto && settings.kind.factorable
    // pntk needs the backend's factored vjp (one reverse pass, as vjp).
    let factoredVJP = models[0].hasFactoredVJP
    let usable = { (layout: FactorLayout) -> Bool in
      layout.hasFactors && (settings.kind != .pntk || factoredVJP)
    }
    let factorLayout = factorable ? models[0].factorLayout.flatMap { usable($0) ? $0 : nil } : nil
    // The factored projection reads factored rows (summed classes for proj-pntk, from the factored
    // vjp) when the backend has them and `--factors` allows.
    let projectionFactors =
      settings.projection?.distribution == .factored && settings.factors == .auto
      ? models[0].factorLayout.flatMap { layout -> FactorLayout? in
        guard layout.hasFactors else { return nil }
        if settings.kind == .projPntk { return factoredVJP ? layout.collapsingClasses() : nil }
        return layout
      } : nil
    self.projectionFactors = projectionFactors
    let pairedSamples = trainSet.count
    let sizingFor = { (batchSize: Int, sliced: Bool) in
      TileSizing(
        kind: settings.kind, description: description, projection: settings.projection,
        factors: sliced ? nil : factorLayout, projectionFactors: projectionFactors, classSliced: sliced,
        batchSize: batchSize, pairedSamples: pairedSamples)
    }
    batchSize =
      settings.batchSize
      ?? sizingFor(1, false).largestBatch(upTo: KernelSettings.defaultBatchSize, budget: settings.memory / 2)
    var sizing = sizingFor(batchSize, false)
    var side: Int
    var sliced = false
    if let tileSize = settings.tileSize {
      let needed = sizing.bytes(rows: min(tileSize, rowSet.count), columns: min(tileSize, trainSet.count))
      guard needed <= settings.memory else {
        throw KernelError.memoryTooSmall(budget: settings.memory, required: needed, detail: "--tile-size \(tileSize)")
      }
      side = tileSize
    } else {
      let symmetric = testSet == nil
      let (rows, columns, unsliced) = (rowSet.count, trainSet.count, sizing)
      let whole = Result {
        try unsliced.tileSide(budget: settings.memory, rows: rows, columns: columns, symmetric: symmetric)
      }
      side = (try? whole.get()) ?? 0
      // trntk = Σ_c Gram(g_c): when whole Jacobians or factored rows (C × P floats a sample, or
      // C × P_plain + factors) would make the tiling compute every sample's features several
      // times, or not fit at all, one class's gradients (P floats) at a time fit a larger tile; C
      // gradient passes a sample cost less than the recomputation. `--factors off` keeps whole
      // Jacobians.
      if settings.kind == .trntk, settings.factors == .auto, description.numOutputs > 1,
        side < max(rows, columns),
        let slicedSide = try? sizingFor(batchSize, true).tileSide(
          budget: settings.memory, rows: rows, columns: columns, symmetric: symmetric),
        slicedSide > side
      {
        (sizing, side, sliced) = (sizingFor(batchSize, true), slicedSide, true)
      } else {
        side = try whole.get()
      }
    }
    factors = sliced ? nil : factorLayout
    classSliced = sliced
    featureBytes = sizing.featureBytes
    let grid = TileGrid(
      rows: rowSet.count, columns: trainSet.count, tileRows: side, tileColumns: side, symmetric: testSet == nil)
    guard grid.rowTiles * grid.columnTiles <= TileGrid.maximumTiles else {
      throw KernelError.badArgument(
        option: "--tile-size", value: String(side),
        reason: "gives \(grid.rowTiles)×\(grid.columnTiles) tiles, more than \(TileGrid.maximumTiles)")
    }
    // A budget beyond the machine (--memory 100T) lets a tile through that no allocation can hold;
    // refuse it here rather than abort in malloc with a kernel.json written.
    let needed = sizing.bytes(rows: grid.tileRows, columns: grid.tileColumns)
    let physical = ProcessInfo.processInfo.physicalMemory
    guard UInt64(needed) <= physical else {
      throw KernelError.badArgument(
        option: "--memory", value: String(settings.memory),
        reason:
          "a \(grid.tileRows)×\(grid.tileColumns) tile needs \(needed) bytes, more than this machine's \(physical)")
    }
    manifest = KernelManifest(
      kind: settings.kind, normalize: settings.normalize, projection: settings.projection, backend: library.name,
      model: model, options: options, rows: rowSet, columns: trainSet, description: description,
      factored: factors != nil, classSliced: sliced, grid: grid)
  }

  /// How often the tiling makes the backend compute each sample's features.
  ///
  /// Once per tile row the sample is in, and once more for every tile off the diagonal it is a
  /// column of. Nil when nothing is computed twice, and for `em` (embeddings are cheap).
  public var recomputation: FeatureRecomputation? {
    let grid = manifest.grid
    guard grid.tiles.count > 1, settings.kind != .em else { return nil }
    var passes = 0
    var lastRow = -1
    for tile in grid.tiles {
      if tile.row != lastRow { passes += grid.rowRange(tile).count }
      if !(grid.symmetric && tile.row == tile.column) { passes += grid.columnRange(tile).count }
      lastRow = tile.row
    }
    let samples = grid.symmetric ? grid.columns : grid.rows + grid.columns
    guard passes > samples else { return nil }
    return FeatureRecomputation(
      kind: settings.kind, featureBytes: featureBytes, memory: settings.tileSize == nil ? settings.memory : nil,
      tileSide: grid.tileRows, grid: [grid.rowTiles, grid.columnTiles], passes: passes, samples: samples)
  }

  /// The outermost folder on `directory`'s path that does not exist (`directory` itself when only
  /// it is missing), or nil: what creating `directory` creates, and a failure must remove.
  public static func outermostMissingFolder(of directory: URL) -> URL? {
    var missing: URL?
    var folder = directory.standardizedFileURL
    while folder.path != "/" && !FileManager.default.fileExists(atPath: folder.path) {
      missing = folder
      folder = folder.deletingLastPathComponent()
    }
    return missing
  }

  /// The most threads a job takes, 4 per core.
  ///
  /// Each thread opens its own model, so more would only cost memory and start-up time.
  public static var maximumThreads: Int { 4 * ProcessInfo.processInfo.activeProcessorCount }

  /// - Throws: `KernelError.badArgument` for `--threads` outside 1...`maximumThreads`.
  public static func checkThreads(_ threads: Int) throws {
    guard (1...maximumThreads).contains(threads) else {
      throw KernelError.badArgument(
        option: "--threads", value: String(threads),
        reason: "expected 1...\(maximumThreads) (4 per core on this machine)")
    }
  }

  /// Computes the kernel (or one tile of it) into `directory`, reporting progress after each tile.
  ///
  /// A folder holding the same kernel is resumed: finished tiles are kept, and a complete kernel
  /// is left as it is. On failure the folders this call created are removed whole; in a folder that
  /// existed only finished tiles (valid on their own) remain.
  /// - Parameters:
  ///   - tile: compute only this tile and do not merge (a plan's unit of work); nil for all tiles
  ///     and `kernel.npy`.
  /// - Throws: `KernelError.tileOutOfRange`, `KernelError.settingsMismatch` when the folder holds
  ///   another kernel, and any error of the backend, the feature stage or the file system.
  public func run(in directory: URL, tile: TileIndex? = nil, progress: (TileProgress) -> Void = { _ in }) throws
    -> KernelJobSummary
  {
    let started = Date()
    let grid = manifest.grid
    if let tile, !grid.contains(tile) {
      throw KernelError.tileOutOfRange(
        row: tile.row, column: tile.column, grid: [grid.rowTiles, grid.columnTiles], symmetric: grid.symmetric)
    }
    let created = Self.outermostMissingFolder(of: directory)
    let existing = try existingManifest(in: directory)
    if let existing {
      let file = directory.appendingPathComponent(existing.file)
      if existing.complete && tile == nil && FileManager.default.fileExists(atPath: file.path) {
        return KernelJobSummary(
          directory: directory, manifest: existing, file: file, alreadyComplete: true,
          run: KernelRunReport(skippingAll: grid.tiles.count), seconds: Date().timeIntervalSince(started))
      }
    }
    do {
      let computation = try prepare(directory, writingManifest: existing == nil)
      let report = try computation.run(tile.map { [$0] }, progress: progress)
      guard tile == nil else {
        return KernelJobSummary(
          directory: directory, manifest: manifest, file: nil, alreadyComplete: false, run: report,
          seconds: Date().timeIntervalSince(started))
      }
      let merged = try KernelMerge.merge(directory: directory)
      try? FileManager.default.removeItem(at: computation.store.directory)
      return KernelJobSummary(
        directory: directory, manifest: merged, file: directory.appendingPathComponent(merged.file),
        alreadyComplete: false, run: report, seconds: Date().timeIntervalSince(started))
    } catch {
      if let created { try? FileManager.default.removeItem(at: created) }
      throw error
    }
  }
}

extension KernelJob {
  /// The folder's `kernel.json`, checked to describe this kernel; nil when there is none.
  /// - Throws: `KernelError.settingsMismatch` when the folder holds another kernel.
  private func existingManifest(in directory: URL) throws -> KernelManifest? {
    let existing = try KernelManifest.read(directory: directory)
    if let existing, let field = manifest.differingSetting(from: existing) {
      throw KernelError.settingsMismatch(directory: directory.path, field: field)
    }
    return existing
  }

  /// Creates the folder (and `kernel.json` when asked) and the computation that fills it.
  private func prepare(_ directory: URL, writingManifest: Bool) throws -> KernelComputation {
    do {
      try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    } catch {
      throw KernelError.io(path: directory.path, reason: "cannot create the folder: \(FileSystemReason.of(error))")
    }
    // Written once; concurrent tile runs of a plan find it and leave it alone.
    if writingManifest { try manifest.write(directory: directory) }
    var projection: CounterProjection? = nil
    var factoredProjection: FactoredProjection? = nil
    if let settings = settings.projection, settings.distribution == .factored {
      let split = FactoredProjection.Split(
        settings: settings, layout: projectionFactors,
        classes: self.settings.kind == .projTrntk ? manifest.numOutputs : 1,
        description: models[0].description)
      factoredProjection = FactoredProjection(split: split, seed: settings.seed, threads: models.count)
    } else {
      projection = settings.projection.map { CounterProjection($0, columns: manifest.numParams) }
    }
    let producer = FeatureProducer(
      kind: settings.kind, models: models, projection: projection, factoredProjection: factoredProjection,
      factors: factors, classSliced: classSliced, batchSize: batchSize, pairedSamples: trainSet.count)
    return KernelComputation(
      manifest: manifest, producer: producer, rowSet: rowSet, columnSet: trainSet, directory: directory)
  }

  /// Computes one block of features into `directory/features`: a plan's feature target.
  ///
  /// Only for a kind whose features are stored (`KernelKind.storesFeatures`); tiles then read the
  /// block.
  /// - Throws: `KernelError.badArgument` for another kind or a block outside the grid (a
  ///   symmetric kernel has row blocks only), `KernelError.settingsMismatch`, and any error of the
  ///   backend, the feature stage or the file system.
  public func storeFeatures(in directory: URL, block: FeatureBlock) throws {
    guard settings.kind.storesFeatures else {
      throw KernelError.badArgument(
        option: "--features", value: block.description,
        reason:
          "\(settings.kind.rawValue) features are whole gradients, too large to store; only proj-trntk, proj-pntk and em store features"
      )
    }
    let grid = manifest.grid
    let count = block.side == .rows ? grid.rowTiles : grid.columnTiles
    guard block.index < count, !(grid.symmetric && block.side == .columns) else {
      throw KernelError.badArgument(
        option: "--features", value: block.description,
        reason:
          grid.symmetric
          ? "a symmetric kernel has row blocks rows:0...rows:\(grid.rowTiles - 1) only"
          : "the grid has rows:0...rows:\(grid.rowTiles - 1) and columns:0...columns:\(grid.columnTiles - 1)")
    }
    let created = Self.outermostMissingFolder(of: directory)
    let existing = try existingManifest(in: directory)
    do {
      try prepare(directory, writingManifest: existing == nil).storeFeatures(block)
    } catch {
      if let created { try? FileManager.default.removeItem(at: created) }
      throw error
    }
  }
}

/// What `KernelJob.run` did.
public struct KernelJobSummary: Sendable {
  public var directory: URL
  /// The folder's manifest after the run (complete, with its checksum, once merged).
  public var manifest: KernelManifest
  /// `kernel.npy` (float32, `manifest.shape`) once the whole kernel is merged; nil after a one-tile run.
  public var file: URL?
  /// Whether the folder already held the complete kernel, so nothing was computed.
  public var alreadyComplete: Bool
  public var run: KernelRunReport
  /// Wall-clock seconds of the whole call.
  public var seconds: Double
}

/// Gradient computations a tiling repeats (`KernelJob.recomputation`), worded for the run's log.
public struct FeatureRecomputation: Sendable, Equatable, CustomStringConvertible {
  public var kind: KernelKind
  public var featureBytes: Int
  /// The budget that chose the tile side; nil when `--tile-size` gave it.
  public var memory: Int?
  public var tileSide: Int
  /// Tile rows and columns.
  public var grid: [Int]
  /// Feature computations of the whole kernel.
  public var passes: Int
  /// Distinct samples (train, plus test for test × train).
  public var samples: Int

  public var description: String {
    let average = String(format: "%.1f", Double(passes) / Double(samples))
    let larger = memory == nil ? "a larger --tile-size" : "a larger --memory"
    let advice =
      kind.isProjected
      ? "\(larger) avoids that"
      : "\(larger) avoids that, and --kind proj-trntk or proj-pntk (k·C or k floats per sample) keeps features small enough for one tile"
    let tiles =
      memory.map { "so --memory \(AvailableMemory.format($0)) holds tiles of \(tileSide) samples" }
      ?? "in tiles of --tile-size \(tileSide) samples"
    return
      "one sample's features take \(AvailableMemory.format(featureBytes)), \(tiles): the \(grid[0])×\(grid[1]) tile grid computes each sample's gradients \(average) times on average (\(passes) computations for \(samples) samples); \(advice)"
  }
}
