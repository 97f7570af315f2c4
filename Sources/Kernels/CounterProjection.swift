import CDenseProjection
import Foundation

/// The distribution of the projection matrix R's entries.
public enum ProjectionDistribution: String, Sendable, Codable, CaseIterable {
  /// Entries N(0, 1/k) (Box–Muller on the two 32-bit halves of one counter draw).
  case gaussian
  /// Entries ±1/√k with equal probability (the top bit of one counter draw).
  case rademacher
  /// A sparse Johnson–Lindenstrauss transform: each column holds ±1/√s in s distinct rows, 0 elsewhere.
  case sparse
  /// Per layer: a factored group's gradient Σ_r Δ_r ⊗ a_r projected as Σ_r (R_out Δ_r) ⊗ (R_in a_r)
  /// with Gaussian R_out and R_in, the other parameters by `sparse` (`FactoredProjection`).
  case factored

  /// Whether the kind takes a density s (`sparse`, and `factored` for its sparse part).
  public var takesDensity: Bool { self == .sparse || self == .factored }
}

/// A k × P random projection matrix R whose every entry is a pure function of (seed, row, column),
/// so any block of it can be generated on its own: R is never held whole, and results do not depend
/// on tile size, batch size or thread count. The exact formula (so another tool can reproduce R)
/// is in `docs/projection.md`:
///
/// - draw(n) = the n-th output of SplitMix64 seeded with `seed`, i.e.
///   z = seed + (n + 1)·0x9E3779B97F4A7C15 (mod 2⁶⁴), then
///   z = (z ⊕ (z ≫ 30))·0xBF58476D1CE4E5B9, z = (z ⊕ (z ≫ 27))·0x94D049BB133111EB, draw = z ⊕ (z ≫ 31);
/// - dense kinds use u = draw(row·2³² + column):
///   Rademacher: R[row, column] = (u ≫ 63 == 0 ? +1 : −1) / √k;
///   Gaussian: u₁ = ((u ≫ 32) + 0.5) / 2³², u₂ = ((u & 0xFFFFFFFF) + 0.5) / 2³²,
///   R[row, column] = √(−2 ln u₁) · cos(2π u₂) / √k, computed in float64 and rounded to float32;
/// - sparse (density s): column j's draws u_t = draw(j·2³² + t), t = 0, 1, …, each naming row
///   ((u_t ≫ 32)·k) ≫ 32 with sign + if u_t is even, else −; the first s draws naming distinct rows
///   are the column's nonzero entries, ±1/√s.
public struct CounterProjection: Sendable, Equatable {
  /// k: rows of R (the projected dimension).
  public let rows: Int
  /// P: columns of R (the model's parameter count).
  public let columns: Int
  public let distribution: ProjectionDistribution
  public let seed: UInt64
  /// s, nonzero entries per column of a sparse R; 0 for the dense distributions.
  public let density: Int

  /// The largest `density` accepted: a sparse projection's cost grows with s, and past a few
  /// hundred a dense one costs less.
  public static let maximumDensity = 1024

  /// - Precondition: `rows` in 1...2³², `columns` in 1...2³² (the counter packs them in 64 bits);
  ///   `density` in 1...min(rows, `maximumDensity`) for `.sparse`, else 0.
  public init(rows: Int, columns: Int, distribution: ProjectionDistribution, seed: UInt64, density: Int = 0) {
    precondition(rows >= 1 && rows <= 1 << 32 && columns >= 1 && columns <= 1 << 32 && distribution != .factored)
    precondition(
      distribution == .sparse ? (1...min(rows, Self.maximumDensity)).contains(density) : density == 0)
    self.rows = rows
    self.columns = columns
    self.distribution = distribution
    self.seed = seed
    self.density = density
  }

  /// The projection of `settings` for a model of `columns` parameters.
  public init(_ settings: ProjectionSettings, columns: Int) {
    self.init(
      rows: settings.dim, columns: columns, distribution: settings.distribution, seed: settings.seed,
      density: settings.density ?? 0)
  }

  static let gamma: UInt64 = 0x9E37_79B9_7F4A_7C15

  /// SplitMix64's mixing of the stream state z = seed + (n + 1)·γ.
  @inline(__always)
  static func mix(_ state: UInt64) -> UInt64 {
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }

  /// The SplitMix64 draw for entry (row, column) of a dense R, or draw `row` of column `column`'s
  /// sequence for a sparse one (the counters are `row`·2³² + `column` and `column`·2³² + `row`).
  @inline(__always)
  static func draw(seed: UInt64, high: Int, low: Int) -> UInt64 {
    mix(seed &+ ((UInt64(high) << 32 | UInt64(low)) &+ 1) &* gamma)
  }

  /// One entry R[row, column].
  public func entry(row: Int, column: Int) -> Float {
    switch distribution {
    case .rademacher, .gaussian:
      let u = Self.draw(seed: seed, high: row, low: column)
      return Float(denseValue(u))
    case .sparse, .factored:
      let nonzeros = sparseColumn(column)
      guard let index = nonzeros.rows.firstIndex(of: UInt32(row)) else { return 0 }
      return nonzeros.signs[index] / Float(density).squareRoot()
    }
  }

  /// A dense entry from its draw, in float64 (rounded to float32 by the caller).
  @inline(__always)
  private func denseValue(_ u: UInt64) -> Double {
    let scale = 1 / Double(rows).squareRoot()
    switch distribution {
    case .rademacher:
      return u >> 63 == 0 ? scale : -scale
    default:
      let u1 = (Double(u >> 32) + 0.5) * 0x1p-32
      let u2 = (Double(u & 0xFFFF_FFFF) + 0.5) * 0x1p-32
      return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2) * scale
    }
  }

  /// Writes R[`rowRange`, `columnRange`] of a dense R row-major into `block` (one line of
  /// `columnRange.count` floats per row), bit-identical to `entry`.
  ///
  /// Vectorised C loops make a row: Rademacher entries come from `entk_rademacher_entries`,
  /// Gaussian ones from `entk_splitmix_draws` and `entk_gaussian_entries` (polynomial log and cos,
  /// within 3e-16 of libm's over every input): a candidate v is rounded to float32 when
  /// v ± 1e-12·(|v| + 1/√k) round alike, which the exact value (within that distance) then does
  /// too; the others, about 3 in 10⁴, are computed with libm as `entry` does.
  func fill(rows rowRange: Range<Int>, columns columnRange: Range<Int>, into block: UnsafeMutablePointer<Float>) {
    precondition(distribution != .sparse)
    let width = columnRange.count
    let scale = 1 / Double(rows).squareRoot()
    // The state of each row's first draw.
    let first = { (row: Int) in seed &+ ((UInt64(row) << 32 | UInt64(columnRange.lowerBound)) &+ 1) &* Self.gamma }
    if distribution == .rademacher {
      for (line, row) in rowRange.enumerated() {
        entk_rademacher_entries(first(row), Self.gamma, width, Float(scale), block + line * width)
      }
      return
    }
    let draws = UnsafeMutablePointer<UInt64>.allocate(capacity: max(width, 1))
    let undecided = UnsafeMutablePointer<Int>.allocate(capacity: max(width, 1))
    defer {
      draws.deallocate()
      undecided.deallocate()
    }
    for (line, row) in rowRange.enumerated() {
      let out = block + line * width
      entk_splitmix_draws(first(row), Self.gamma, width, draws)
      let count = entk_gaussian_entries(draws, width, scale, out, undecided)
      for offset in UnsafeBufferPointer(start: undecided, count: count) {
        out[offset] = Float(denseValue(draws[offset]))
      }
    }
  }

  /// The nonzero entries of column `column` of a sparse R: `density` distinct rows, in draw order,
  /// with their signs (±1; the entries are sign/√s).
  func sparseColumn(_ column: Int) -> (rows: [UInt32], signs: [Float]) {
    let rows = UnsafeMutablePointer<UInt32>.allocate(capacity: density)
    let signs = UnsafeMutablePointer<Float>.allocate(capacity: density)
    defer {
      rows.deallocate()
      signs.deallocate()
    }
    fillSparse(columns: column..<column + 1, rows: rows, signs: signs)
    return (
      Array(UnsafeBufferPointer(start: rows, count: density)), Array(UnsafeBufferPointer(start: signs, count: density))
    )
  }

  /// Writes the nonzero entries of columns `columnRange` of a sparse R: for each column in order,
  /// `density` rows into `rows` and their signs (±1) into `signs`.
  func fillSparse(
    columns columnRange: Range<Int>, rows: UnsafeMutablePointer<UInt32>, signs: UnsafeMutablePointer<Float>
  ) {
    precondition(distribution == .sparse)
    let k = UInt64(self.rows)
    for (index, column) in columnRange.enumerated() {
      let kept = rows + index * density
      var count = 0
      var t = 0
      while count < density {
        let u = Self.draw(seed: seed, high: column, low: t)
        t += 1
        let row = UInt32(truncatingIfNeeded: ((u >> 32) &* k) >> 32)
        var repeated = false
        for earlier in 0..<count where kept[earlier] == row { repeated = true }
        if repeated { continue }
        kept[count] = row
        signs[index * density + count] = u & 1 == 0 ? 1 : -1
        count += 1
      }
    }
  }
}
