import BackendLoader

/// Chooses the largest square tile whose working set fits a memory budget.
///
/// Counted per tile of r × s samples: the row and column feature blocks ((r + s) × features ×
/// 4 bytes), the producer's per-batch scratch (for projected kinds the batch's gradients, one chunk
/// of R and the projected rows, see `GradientProjector`) and the float32 tile.
/// Not counted: the input samples, the backend's own allocations, OpenBLAS's buffers and `GramTile`'s
/// fixed per-thread panel scratch.
public struct TileSizing: Sendable {
  public let kind: KernelKind
  public let description: ModelDescription
  /// The projection of a projected kind.
  public let projection: ProjectionSettings?
  public let batchSize: Int
  /// The factored row layout when features are `factored_jacobian` rows.
  public let factors: FactorLayout?
  /// `trntk` one class at a time: features of P floats per sample, and a float64 accumulator of
  /// the tile (Σ over classes) beside the float32 tile.
  public let classSliced: Bool
  /// The split of `--proj-kind factored`.
  let factoredSplit: FactoredProjection.Split?
  /// The kernel's column samples, which decide the sums the features keep (`SumExpansion`).
  public let pairedSamples: Int

  /// - Parameter projectionFactors: with `--proj-kind factored`, the layout of the rows it reads
  ///   (the model's, with classes collapsed for `proj-pntk`), or nil for plain gradients.
  public init(
    kind: KernelKind, description: ModelDescription, projection: ProjectionSettings? = nil,
    factors: FactorLayout? = nil, projectionFactors: FactorLayout? = nil, classSliced: Bool = false, batchSize: Int,
    pairedSamples: Int = KernelSettings.defaultBatchSize
  ) {
    self.pairedSamples = pairedSamples
    factoredSplit = projection.flatMap {
      $0.distribution == .factored
        ? FactoredProjection.Split(
          settings: $0, layout: projectionFactors, classes: kind == .projTrntk ? description.numOutputs : 1,
          description: description) : nil
    }
    self.kind = kind
    self.classSliced = classSliced
    self.factors = factors
    self.description = description
    self.projection = projection
    self.batchSize = batchSize
  }

  /// Bytes of one sample's features.
  public var featureBytes: Int {
    classSliced
      ? description.numParams * 4
      : FeatureProducer.featureLength(
        kind: kind, description: description, projectionDim: projection?.dim ?? 0, factors: factors,
        pairedSamples: pairedSamples) * 4
  }

  /// Bytes of the producer's per-batch scratch for batches of `batchSize` samples (the gradients
  /// and projection scratch of the projected kinds).
  public func scratchBytes(batchSize: Int) -> Int {
    FeatureProducer.scratchFloats(
      kind: kind, description: description,
      projection: factoredSplit == nil ? projection.map { CounterProjection($0, columns: description.numParams) } : nil,
      factoredSplit: factoredSplit, factors: factors, batchSize: batchSize, pairedSamples: pairedSamples) * 4
      + 4 * (factoredSplit?.matrixFloats ?? 0)
  }

  /// The largest batch size up to `limit` whose scratch fits `budget` bytes (at least 1).
  public func largestBatch(upTo limit: Int, budget: Int) -> Int {
    var (low, high) = (1, max(1, limit))
    while low < high {
      let middle = (low + high + 1) / 2
      if scratchBytes(batchSize: middle) <= budget { low = middle } else { high = middle - 1 }
    }
    return low
  }

  /// Working-set bytes of a diagonal tile of a symmetric kernel: one block of features.
  public func diagonalBytes(samples: Int) -> Int {
    bytes(rows: samples, columns: samples) - samples * featureBytes
  }

  /// Working-set bytes of a tile of `rows` × `columns` samples.
  public func bytes(rows: Int, columns: Int) -> Int {
    // The tile's size depends on the kind alone, not on the features' layout.
    let gram = GramTile(kind: kind, description: description, featureLength: featureBytes / 4)
    let accumulator = classSliced ? gram.tileCount(rows: rows, columns: columns) * 8 : 0
    return (rows + columns) * featureBytes + scratchBytes(batchSize: min(batchSize, max(rows, columns)))
      + gram.tileCount(rows: rows, columns: columns) * 4 + accumulator
  }

  /// The largest tile side t (1...max(rows, columns)) with `bytes(min(t, rows), min(t, columns))`
  /// within `budget`.
  /// - Throws: `KernelError.memoryTooSmall` when not even a 1 × 1 tile fits.
  ///
  /// With `symmetric`, a grid of one tile (rows = columns = all samples) is a diagonal tile, which
  /// holds only one block of features: it is chosen whenever that fits.
  public func tileSide(budget: Int, rows: Int, columns: Int, symmetric: Bool = false) throws -> Int {
    if symmetric, rows == columns, diagonalBytes(samples: rows) <= budget { return rows }
    let needed = bytes(rows: 1, columns: 1)
    guard needed <= budget else {
      throw KernelError.memoryTooSmall(
        budget: budget, required: needed,
        detail:
          "features of 2 samples (\(featureBytes) bytes each), a batch of \(batchSize) sample(s) (\(scratchBytes(batchSize: batchSize)) bytes of gradients and scratch) and a 1×1 tile of '\(kind.rawValue)' for P = \(description.numParams), C = \(description.numOutputs)"
      )
    }
    var (low, high) = (1, max(rows, columns))
    while low < high {
      let middle = (low + high + 1) / 2
      if bytes(rows: min(middle, rows), columns: min(middle, columns)) <= budget {
        low = middle
      } else {
        high = middle - 1
      }
    }
    return low
  }
}
