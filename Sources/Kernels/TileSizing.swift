import BackendLoader

/// Chooses the largest square tile whose working set fits a memory budget.
///
/// Counted per tile of r × s samples: the row and column feature blocks ((r + s) × features ×
/// 4 bytes), the producer's per-batch scratch (a batch of Jacobians and a block of R for projected
/// kinds) and the float32 tile.
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

  public init(
    kind: KernelKind, description: ModelDescription, projection: ProjectionSettings? = nil,
    factors: FactorLayout? = nil, batchSize: Int
  ) {
    self.kind = kind
    self.factors = factors
    self.description = description
    self.projection = projection
    self.batchSize = batchSize
  }

  /// Working-set bytes of a tile of `rows` × `columns` samples.
  public func bytes(rows: Int, columns: Int) -> Int {
    let features = FeatureProducer.featureLength(
      kind: kind, description: description, projectionDim: projection?.dim ?? 0, factors: factors)
    let scratch = FeatureProducer.scratchFloats(
      kind: kind, description: description,
      projection: projection.map { CounterProjection($0, columns: description.numParams) }, factors: factors,
      batchSize: min(batchSize, max(rows, columns)))
    let gram = GramTile(kind: kind, description: description, featureLength: features, factors: factors)
    return ((rows + columns) * features + scratch + gram.tileCount(rows: rows, columns: columns)) * 4
  }

  /// The largest tile side t (1...max(rows, columns)) with `bytes(min(t, rows), min(t, columns))`
  /// within `budget`.
  /// - Throws: `KernelError.memoryTooSmall` when not even a 1 × 1 tile fits.
  public func tileSide(budget: Int, rows: Int, columns: Int) throws -> Int {
    let needed = bytes(rows: 1, columns: 1)
    guard needed <= budget else {
      throw KernelError.memoryTooSmall(
        budget: budget, required: needed,
        detail:
          "features of 2 samples, a batch of gradients and a 1×1 tile of '\(kind.rawValue)' for P = \(description.numParams), C = \(description.numOutputs)"
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
