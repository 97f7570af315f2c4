import BackendLoader

/// A summed factor group's share of the kernel between two feature rows (ABI 1.3 `terms`):
/// Σ_{r,r'} (a_r·a'_r') Σ_blocks (Δ_r·Δ'_r'), read straight from the rows in float64.
///
/// Each value depends only on its two rows and is summed in a fixed order (r, then r', then the
/// blocks), so tiles keep their bits whatever the tiling. One-hot groups (embedding tables read at
/// token ids) compare indices instead of multiplying a's: a pair costs R² comparisons plus O
/// multiply-adds per block for each shared token, not the table's size.
struct SummedFactor: Sendable {
  /// The a's in a row: R × I floats, or R indices (-1 for an absent term) when one-hot.
  var inputs: Range<Int>
  /// The start of each Δ block (R × O floats) that pairs with the same block of the other row:
  /// every class for `trntk` and `layers` (Σ_c), the row's own class for `entk`'s class rows.
  var blocks: [Int]
  var terms: Int
  var inputDim: Int
  var outputDim: Int
  var oneHot: Bool

  init(_ group: FactorLayout.Summed, blocks: [Int]) {
    inputs = group.inputs
    self.blocks = blocks
    terms = group.terms
    inputDim = group.inputDim
    outputDim = group.outputDim
    oneHot = group.oneHot
  }

  /// Floats the value reads from each row, for flop counts.
  var width: Int { terms * (oneHot ? 1 : inputDim) + blocks.count * terms * outputDim }

  /// The group's kernel value between rows `x` and `y`.
  func value(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>) -> Double {
    let (i, o) = (inputDim, outputDim)
    var total = 0.0
    for s in 0..<terms {
      let ax = x + inputs.lowerBound + s * (oneHot ? 1 : i)
      if oneHot && ax.pointee < 0 { continue }
      for t in 0..<terms {
        let ay = y + inputs.lowerBound + t * (oneHot ? 1 : i)
        var a = 1.0
        if oneHot {
          guard ax.pointee == ay.pointee else { continue }
        } else {
          a = 0
          for j in 0..<i { a += Double(ax[j]) * Double(ay[j]) }
          if a == 0 { continue }
        }
        var deltas = 0.0
        for block in blocks {
          let (dx, dy) = (x + block + s * o, y + block + t * o)
          for k in 0..<o { deltas += Double(dx[k]) * Double(dy[k]) }
        }
        total += a * deltas
      }
    }
    return total
  }
}
