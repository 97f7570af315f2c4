import COpenBLAS
import Foundation

/// Progress after each tile, for the CLI's stderr line.
public struct TileProgress: Sendable {
  /// Tiles of the selection finished (computed now or found complete).
  public var done: Int
  public var total: Int
  /// Tiles computed by this run so far.
  public var computed: Int
  /// Seconds since the run started.
  public var elapsed: Double
  /// Tiles per second computed by this run.
  public var rate: Double { elapsed > 0 ? Double(computed) / elapsed : 0 }
  /// Estimated seconds left at the current rate.
  public var remaining: Double? { computed > 0 ? Double(total - done) / rate : nil }
}

/// What a run did and how fast, for `--json` and the benchmarks.
public struct KernelRunReport: Sendable, Codable {
  public var tiles: Int
  public var computed: Int
  public var skipped: Int
  /// Seconds spent producing features (backend gradients and projections).
  public var featureSeconds: Double
  /// Seconds in the Gram stage (sgemm, float64 accumulation, normalisation, layout).
  public var gramSeconds: Double
  /// Floating-point operations the Gram stage needs (useful work, see `GramTile.compute`).
  public var gramFlops: Double
  /// Seconds writing tiles.
  public var writeSeconds: Double

  /// The report of a run that found all `tiles` already finished.
  public init(skippingAll tiles: Int) {
    self.init(
      tiles: tiles, computed: 0, skipped: tiles, featureSeconds: 0, gramSeconds: 0, gramFlops: 0, writeSeconds: 0)
  }

  init(
    tiles: Int, computed: Int, skipped: Int, featureSeconds: Double, gramSeconds: Double, gramFlops: Double,
    writeSeconds: Double
  ) {
    self.tiles = tiles
    self.computed = computed
    self.skipped = skipped
    self.featureSeconds = featureSeconds
    self.gramSeconds = gramSeconds
    self.gramFlops = gramFlops
    self.writeSeconds = writeSeconds
  }
}

/// Computes the tiles of a kernel folder.
///
/// Features of a tile row's samples are computed once, then each tile of that row, each written
/// atomically with its sidecar. Finished tiles are skipped; unfinished
/// ones (a tile without a valid sidecar) are recomputed.
public final class KernelComputation {
  public let manifest: KernelManifest
  let producer: FeatureProducer
  let rowSet: SampleSet
  let columnSet: SampleSet
  public let store: TileStore
  /// Stored feature blocks, read instead of recomputed when present (kinds that store features).
  public let features: FeatureStore

  /// - Parameters:
  ///   - rowSet, columnSet: the samples of `manifest.rows` and `manifest.columns` (the same set for
  ///     a symmetric kernel).
  public init(
    manifest: KernelManifest, producer: FeatureProducer, rowSet: SampleSet, columnSet: SampleSet, directory: URL
  ) {
    self.manifest = manifest
    self.producer = producer
    self.rowSet = rowSet
    self.columnSet = columnSet
    self.store = TileStore(directory: directory.appendingPathComponent("tiles"))
    self.features = FeatureStore(directory: directory.appendingPathComponent("features"))
  }

  /// The features of `block`'s samples into `buffer`: read from the feature store when the plan
  /// computed the block (kinds that store features), else computed.
  private func blockFeatures(_ block: FeatureBlock, into buffer: UnsafeMutablePointer<Float>) throws {
    let samples = manifest.grid.samples(of: block)
    if manifest.kind.storesFeatures,
      features.read(block, samples: samples, length: producer.featureLength, into: buffer)
    {
      return
    }
    try producer.features(of: block.side == .rows ? rowSet : columnSet, samples: samples, into: buffer)
  }

  /// Computes `block`'s features and stores them (a plan's feature target).
  public func storeFeatures(_ block: FeatureBlock) throws {
    let samples = manifest.grid.samples(of: block)
    openblas_set_num_threads(1)
    let buffer = try FloatBuffer.checked(count: samples.count * producer.featureLength, purpose: "a block's features")
    try producer.features(of: block.side == .rows ? rowSet : columnSet, samples: samples, into: buffer.pointer)
    try features.write(block, samples: samples, length: producer.featureLength, values: buffer.pointer)
  }

  /// Computes the unfinished tiles of `selection` (every tile of the grid by default).
  public func run(_ selection: [TileIndex]? = nil, progress: (TileProgress) -> Void = { _ in }) throws
    -> KernelRunReport
  {
    let grid = manifest.grid
    let tiles = selection ?? grid.tiles
    store.removeStaleTemporaries()
    let pending = tiles.filter { !store.isComplete($0, of: manifest) }
    var report = KernelRunReport(
      tiles: tiles.count, computed: 0, skipped: tiles.count - pending.count, featureSeconds: 0, gramSeconds: 0,
      gramFlops: 0,
      writeSeconds: 0)
    let start = Date()
    // OpenBLAS's own thread split changes its rounding, so it runs on one thread and the producer's
    // threads share its fixed-shape calls. Left so: restoring a count would race with another
    // computation in the same process.
    openblas_set_num_threads(1)
    let length = producer.featureLength
    let layout = FeatureProducer.gramLayout(
      kind: manifest.kind, factors: producer.factors, pairedSamples: producer.pairedSamples)
    let gram = GramTile(
      kind: manifest.kind, description: producer.description, featureLength: length, factors: layout?.factors,
      expandedGroups: layout?.expandedGroups ?? [], threads: producer.threads)
    let cosine = manifest.normalize == .cosine
    let rowFeatures = try FloatBuffer.checked(count: grid.tileRows * length, purpose: "a tile row's features")
    let columnFeatures = try FloatBuffer.checked(
      count: pending.contains { !isDiagonal($0) } ? grid.tileColumns * length : 0, purpose: "a tile column's features")
    let output = try FloatBuffer.checked(
      count: gram.tileCount(rows: grid.tileRows, columns: grid.tileColumns), purpose: "a tile")
    let sums = try FloatBuffer.checked(
      count: producer.classSliced ? 2 * gram.tileCount(rows: grid.tileRows, columns: grid.tileColumns) : 0,
      purpose: "a tile's float64 sums over classes")
    var currentRow = -1
    var rowSelf: [[Double]] = []
    for tile in pending {
      store.remove(tile)
      let rows = grid.rowRange(tile)
      let columns = grid.columnRange(tile)
      if producer.classSliced {
        let seconds = try computeByClass(
          tile, gram: gram, rowFeatures: rowFeatures.pointer, columnFeatures: columnFeatures.pointer,
          output: output.pointer,
          sums: UnsafeMutableRawPointer(sums.pointer).bindMemory(to: Double.self, capacity: rows.count * columns.count),
          report: &report)
        report.featureSeconds += seconds.features
        report.gramSeconds += seconds.gram
      } else {
        if tile.row != currentRow {
          let began = Date()
          try blockFeatures(FeatureBlock(side: .rows, index: tile.row), into: rowFeatures.pointer)
          rowSelf = cosine ? gram.selfValues(rowFeatures.pointer, samples: rows.count) : []
          report.featureSeconds += Date().timeIntervalSince(began)
          currentRow = tile.row
        }
        var columnSelf = rowSelf
        if !isDiagonal(tile) {
          let began = Date()
          // A symmetric kernel's columns are its rows: its column blocks are row blocks.
          let side: FeatureBlock.Side = manifest.grid.symmetric ? .rows : .columns
          try blockFeatures(FeatureBlock(side: side, index: tile.column), into: columnFeatures.pointer)
          columnSelf = cosine ? gram.selfValues(columnFeatures.pointer, samples: columns.count) : []
          report.featureSeconds += Date().timeIntervalSince(began)
        }
        let began = Date()
        report.gramFlops += gram.compute(
          rowFeatures: rowFeatures.pointer, rows: rows.count, rowStart: rows.lowerBound, rowTotal: rowSet.count,
          columnFeatures: isDiagonal(tile) ? nil : UnsafePointer(columnFeatures.pointer), columns: columns.count,
          columnStart: columns.lowerBound, columnTotal: columnSet.count, symmetricKernel: manifest.grid.symmetric,
          cosine: cosine ? (rowSelf, columnSelf) : nil, output: output.pointer)
        report.gramSeconds += Date().timeIntervalSince(began)
      }
      let writing = Date()
      try store.write(
        tile, rows: rows, columns: columns, shape: manifest.tileShape(tile),
        values: UnsafeBufferPointer(
          start: output.pointer, count: gram.tileCount(rows: rows.count, columns: columns.count)))
      report.writeSeconds += Date().timeIntervalSince(writing)
      report.computed += 1
      progress(
        TileProgress(
          done: report.skipped + report.computed, total: tiles.count, computed: report.computed,
          elapsed: Date().timeIntervalSince(start)))
    }
    return report
  }

  /// Computes `tile` of a class-sliced `trntk` into `output`; returns the feature and Gram seconds.
  ///
  /// For each class c in order, the tile's g_c features and their raw Gram, summed in float64
  /// (`sums`); cosine normalisation divides by the same sums of the self-values.
  private func computeByClass(
    _ tile: TileIndex, gram: GramTile, rowFeatures: UnsafeMutablePointer<Float>,
    columnFeatures: UnsafeMutablePointer<Float>, output: UnsafeMutablePointer<Float>,
    sums: UnsafeMutablePointer<Double>, report: inout KernelRunReport
  ) throws -> (features: Double, gram: Double) {
    let rows = manifest.grid.rowRange(tile)
    let columns = manifest.grid.columnRange(tile)
    let diagonal = isDiagonal(tile)
    let count = rows.count * columns.count
    sums.update(repeating: 0, count: count)
    var rowSelf = [Double](repeating: 0, count: rows.count)
    var columnSelf = [Double](repeating: 0, count: columns.count)
    var seconds: (features: Double, gram: Double) = (0, 0)
    for c in 0..<manifest.numOutputs {
      var began = Date()
      try producer.features(of: rowSet, samples: rows, into: rowFeatures, classSlice: c)
      for (i, value) in gram.selfValues(rowFeatures, samples: rows.count)[0].enumerated() { rowSelf[i] += value }
      if !diagonal {
        try producer.features(of: columnSet, samples: columns, into: columnFeatures, classSlice: c)
        for (j, value) in gram.selfValues(columnFeatures, samples: columns.count)[0].enumerated() {
          columnSelf[j] += value
        }
      }
      seconds.features += Date().timeIntervalSince(began)
      began = Date()
      report.gramFlops += gram.compute(
        rowFeatures: rowFeatures, rows: rows.count, rowStart: rows.lowerBound, rowTotal: rowSet.count,
        columnFeatures: diagonal ? nil : UnsafePointer(columnFeatures), columns: columns.count,
        columnStart: columns.lowerBound, columnTotal: columnSet.count, symmetricKernel: manifest.grid.symmetric,
        cosine: nil, output: output)
      for k in 0..<count { sums[k] += Double(output[k]) }
      seconds.gram += Date().timeIntervalSince(began)
    }
    if diagonal { columnSelf = rowSelf }
    let cosine = manifest.normalize == .cosine
    for i in 0..<rows.count {
      for j in 0..<columns.count {
        let k = i * columns.count + j
        let scale = rowSelf[i] * columnSelf[j]
        output[k] = Float(cosine ? (scale > 0 ? sums[k] / scale.squareRoot() : 0) : sums[k])
      }
    }
    return seconds
  }

  /// A diagonal tile of a symmetric kernel: one feature block, its upper triangle computed and mirrored.
  private func isDiagonal(_ tile: TileIndex) -> Bool { manifest.grid.symmetric && tile.row == tile.column }
}
