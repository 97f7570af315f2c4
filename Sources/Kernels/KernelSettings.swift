/// What defines a kernel run: the kernel itself (kind, projection, normalisation) and how it is
/// cut and streamed (memory budget, tile side, batch size), checked for consistency on creation.
public struct KernelSettings: Sendable, Equatable {
  public var kind: KernelKind
  /// The random projection; present exactly for the projected kinds.
  public var projection: ProjectionSettings?
  public var normalize: KernelNormalization
  /// Bytes for feature blocks and a tile (what `TileSizing` counts).
  public var memory: Int
  /// Samples per tile side; nil for the largest side that fits `memory`.
  public var tileSize: Int?
  /// Samples per backend call, or nil for the largest up to `defaultBatchSize` whose per-batch
  /// scratch takes at most half of `memory` (see `KernelJob`); does not change the kernel's values.
  public var batchSize: Int?
  /// The automatic batch size's upper limit.
  public static let defaultBatchSize = 64
  /// Whether `trntk`, `layers` and `entk` use the backend's per-layer factors when it has them.
  public var factors: FactorUse

  /// - Throws: `KernelError.projection` when `projection` is missing for a projected kind, given
  ///   for an unprojected one, has k outside 1...2³², or a density missing for `.sparse` or `.factored`, outside
  ///   1...min(k, `CounterProjection.maximumDensity`), or given for a dense distribution; `KernelError.badArgument` for a
  ///   non-positive `memory`, `tileSize` or `batchSize`.
  public init(
    kind: KernelKind, projection: ProjectionSettings? = nil, normalize: KernelNormalization = .none,
    memory: Int = 2 << 30, tileSize: Int? = nil, batchSize: Int? = nil, factors: FactorUse = .auto
  ) throws {
    if kind.isProjected {
      guard let projection else { throw KernelError.projection("kind '\(kind.rawValue)' needs --proj-dim k") }
      guard projection.dim > 0, projection.dim <= 1 << 32 else {
        throw KernelError.projection("--proj-dim must be a positive integer, got \(projection.dim)")
      }
      switch (projection.distribution.takesDensity, projection.density) {
      case (true, let density?):
        let limit = min(projection.dim, CounterProjection.maximumDensity)
        guard (1...limit).contains(density) else {
          throw KernelError.projection(
            "--proj-density must be in 1...\(limit) (at most k = \(projection.dim) and \(CounterProjection.maximumDensity)), got \(density)"
          )
        }
      case (true, nil):
        throw KernelError.projection("--proj-kind \(projection.distribution.rawValue) needs --proj-density s")
      case (_, let density?):
        throw KernelError.projection(
          "--proj-density \(density) given, but --proj-kind \(projection.distribution.rawValue) is dense (use sparse or factored)"
        )
      case (_, nil):
        break
      }
    } else if let projection {
      throw KernelError.projection(
        "--proj-dim \(projection.dim) given, but kind '\(kind.rawValue)' is not projected (use proj-trntk or proj-pntk)"
      )
    }
    guard memory > 0 else {
      throw KernelError.badArgument(option: "--memory", value: String(memory), reason: "must be positive")
    }
    if let tileSize, tileSize < 1 {
      throw KernelError.badArgument(option: "--tile-size", value: String(tileSize), reason: "must be at least 1")
    }
    if let batchSize, batchSize < 1 {
      throw KernelError.badArgument(option: "--batch-size", value: String(batchSize), reason: "must be at least 1")
    }
    self.kind = kind
    self.projection = projection
    self.normalize = normalize
    self.memory = memory
    self.tileSize = tileSize
    self.batchSize = batchSize
    self.factors = factors
  }
}

/// Whether a kernel may be computed from per-layer factors (ABI 1.1 `factored_jacobian`).
///
/// Factors and whole Jacobians give the same kernel up to float32 rounding; factors skip the
/// P-length gradients of dense layers.
public enum FactorUse: String, Sendable, CaseIterable {
  /// Factors for `trntk`, `layers` and `entk` when the backend factors at least one group.
  case auto
  /// Whole Jacobians always.
  case off
}
