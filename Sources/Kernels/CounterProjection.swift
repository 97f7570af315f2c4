import Foundation

/// The distribution of the projection matrix R's entries.
public enum ProjectionDistribution: String, Sendable, Codable, CaseIterable {
  /// Entries N(0, 1/k) (Box–Muller on the two 32-bit halves of one counter draw).
  case gaussian
  /// Entries ±1/√k with equal probability (the top bit of one counter draw).
  case rademacher
}

/// A k × P random projection matrix R whose every entry is a pure function of (seed, row, column),
/// so any block of it can be generated on its own: R is never held whole, and results do not depend
/// on tile size, batch size or thread count. The exact formula (so another tool can reproduce R)
/// is in `docs/projection.md`:
///
/// - u = the (row·2³² + column)-th output of SplitMix64 seeded with `seed`, i.e.
///   z = seed + (row·2³² + column + 1)·0x9E3779B97F4A7C15 (mod 2⁶⁴), then
///   z = (z ⊕ (z ≫ 30))·0xBF58476D1CE4E5B9, z = (z ⊕ (z ≫ 27))·0x94D049BB133111EB, u = z ⊕ (z ≫ 31);
/// - Rademacher: R[row, column] = (u ≫ 63 == 0 ? +1 : −1) / √k;
/// - Gaussian: u₁ = ((u ≫ 32) + 0.5) / 2³², u₂ = ((u & 0xFFFFFFFF) + 0.5) / 2³²,
///   R[row, column] = √(−2 ln u₁) · cos(2π u₂) / √k, computed in float64 and rounded to float32.
public struct CounterProjection: Sendable, Equatable {
  /// k: rows of R (the projected dimension).
  public let rows: Int
  /// P: columns of R (the model's parameter count).
  public let columns: Int
  public let distribution: ProjectionDistribution
  public let seed: UInt64

  /// - Precondition: `rows` in 1...2³², `columns` in 1...2³² (the counter packs them in 64 bits).
  public init(rows: Int, columns: Int, distribution: ProjectionDistribution, seed: UInt64) {
    precondition(rows >= 1 && rows <= 1 << 32 && columns >= 1 && columns <= 1 << 32)
    self.rows = rows
    self.columns = columns
    self.distribution = distribution
    self.seed = seed
  }

  /// The SplitMix64 draw for entry (row, column).
  @inline(__always)
  static func draw(seed: UInt64, row: Int, column: Int) -> UInt64 {
    let counter = UInt64(row) << 32 | UInt64(column)
    var z = seed &+ (counter &+ 1) &* 0x9E37_79B9_7F4A_7C15
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }

  /// One entry R[row, column].
  public func entry(row: Int, column: Int) -> Float {
    let u = Self.draw(seed: seed, row: row, column: column)
    let scale = 1 / Double(rows).squareRoot()
    switch distribution {
    case .rademacher:
      return Float(u >> 63 == 0 ? scale : -scale)
    case .gaussian:
      let u1 = (Double(u >> 32) + 0.5) * 0x1p-32
      let u2 = (Double(u & 0xFFFF_FFFF) + 0.5) * 0x1p-32
      return Float((-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2) * scale)
    }
  }
}
