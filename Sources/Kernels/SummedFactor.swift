import BackendLoader
import COpenBLAS

/// A summed factor group's share of the kernel between two feature rows (ABI 1.3 `terms`):
/// Σ_{r,r'} (a_r·a'_r') Σ_blocks (Δ_r·Δ'_r').
///
/// One-hot groups (embedding tables read at token ids) compare indices instead of multiplying
/// a's, straight from the rows in float64: a pair costs R² comparisons plus O multiply-adds per
/// block for each shared token, not the table's size. Dense groups (a convolution's patches) go
/// through sgemm (ssyrk for a symmetric kernel's sub-panel paired with itself) for many rows at
/// once (`products`): the Gram of the a's and the Gram of the Δ's of every term of `rows` ×
/// `columns` samples, float32 products over at most `GramTile.accumulationChunk` features summed
/// in float64, then each pair's R × R blocks
/// multiplied elementwise and summed in float64. Every call shape depends only on the counts of
/// rows and columns, and every sum runs in a fixed order, so a value keeps its bits whatever the
/// tiling as long as callers fix those counts (GramTile cuts its panels into fixed sub-panels of
/// `samplesPerProduct`).
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

  /// Term rows of one side of a dense product: its Grams hold (samples · R)² floats.
  static let productRows = 512

  init(_ group: FactorLayout.Summed, blocks: [Int]) {
    inputs = group.inputs
    self.blocks = blocks
    terms = group.terms
    inputDim = group.inputDim
    outputDim = group.outputDim
    oneHot = group.oneHot
  }

  /// Samples per side of one dense product.
  var samplesPerProduct: Int { max(1, Self.productRows / terms) }

  /// Multiply-adds per pair of rows, for flop counts.
  var width: Int {
    oneHot ? terms + blocks.count * terms * outputDim : terms * terms * (inputDim + blocks.count * outputDim)
  }

  /// The group's kernel value between rows `x` and `y`.
  func value(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, scratch: SummedScratch) -> Double {
    guard oneHot else {
      var total = 0.0
      products(rows: [x], columns: [y], scratch: scratch) { _, _, value in total = value }
      return total
    }
    let o = outputDim
    var total = 0.0
    for s in 0..<terms {
      let ax = x + inputs.lowerBound + s
      guard ax.pointee >= 0 else { continue }
      for t in 0..<terms where ax.pointee == y[inputs.lowerBound + t] {
        var deltas = 0.0
        for block in blocks {
          let (dx, dy) = (x + block + s * o, y + block + t * o)
          for k in 0..<o { deltas += Double(dx[k]) * Double(dy[k]) }
        }
        total += deltas
      }
    }
    return total
  }

  /// The values of a dense group between every row sample and column sample, handed to `add`
  /// as (row index, column index, value); nil rows (outside a tile) are computed as zeros and not
  /// handed on.
  ///
  /// With `columns` nil, `rows` are one sub-panel of a symmetric kernel's set paired with itself:
  /// both Grams are ssyrk's upper triangles (half sgemm's multiply-adds), and only pairs i ≤ j are
  /// handed on; a sample's own block is its diagonal plus twice the triangle above it.
  func products(
    rows: [UnsafePointer<Float>?], columns: [UnsafePointer<Float>?]?, scratch: SummedScratch,
    add: (Int, Int, Double) -> Void
  ) {
    precondition(!oneHot)
    let r = terms
    let symmetric = columns == nil
    let columns = columns ?? rows
    let (m, n) = (rows.count * r, columns.count * r)
    let chunk = GramTile.accumulationChunk
    scratch.reserve(rows: m, columns: n, width: min(max(inputDim, outputDim), chunk))
    let sides = symmetric ? [(scratch.rowPack, rows)] : [(scratch.rowPack, rows), (scratch.columnPack, columns)]
    // Σ over feature chunks of side-by-side float32 products, in float64, into `target`.
    func gram(offset: Int, width: Int, into target: UnsafeMutablePointer<Double>, first: Bool) {
      for start in stride(from: 0, to: width, by: chunk) {
        let count = min(chunk, width - start)
        for (pack, side) in sides {
          for (sample, row) in side.enumerated() {
            for term in 0..<r {
              let line = pack + (sample * r + term) * count
              if let row {
                line.update(from: row + offset + term * width + start, count: count)
              } else {
                line.update(repeating: 0, count: count)
              }
            }
          }
        }
        if symmetric {
          cblas_ssyrk(
            CblasRowMajor, CblasUpper, CblasNoTrans, Int32(m), Int32(count), 1, scratch.rowPack, Int32(count), 0,
            scratch.product, Int32(n))
        } else {
          cblas_sgemm(
            CblasRowMajor, CblasNoTrans, CblasTrans, Int32(m), Int32(n), Int32(count), 1, scratch.rowPack,
            Int32(count), scratch.columnPack, Int32(count), 0, scratch.product, Int32(n))
        }
        for i in 0..<m {
          // ssyrk leaves the lower triangle as it was: never read.
          let used = i * n + (symmetric ? i : 0)..<(i + 1) * n
          if first && start == 0 {
            for k in used { target[k] = Double(scratch.product[k]) }
          } else {
            for k in used { target[k] += Double(scratch.product[k]) }
          }
        }
      }
    }
    gram(offset: inputs.lowerBound, width: inputDim, into: scratch.inputGram, first: true)
    for (index, block) in blocks.enumerated() {
      gram(offset: block, width: outputDim, into: scratch.deltaGram, first: index == 0)
    }
    let (inputGram, deltaGram) = (scratch.inputGram, scratch.deltaGram)
    for (i, row) in rows.enumerated() where row != nil {
      for (j, column) in columns.enumerated() where column != nil && (!symmetric || j >= i) {
        var total = 0.0
        if symmetric && i == j {
          var above = 0.0
          for s in 0..<r {
            let at = (i * r + s) * n + i * r
            total += inputGram[at + s] * deltaGram[at + s]
            for t in s + 1..<r { above += inputGram[at + t] * deltaGram[at + t] }
          }
          total += 2 * above
        } else {
          for s in 0..<r {
            let at = (i * r + s) * n + j * r
            for t in 0..<r { total += inputGram[at + t] * deltaGram[at + t] }
          }
        }
        add(i, j, total)
      }
    }
  }
}

/// One thread's buffers for `SummedFactor.products`, grown to the largest product asked for.
final class SummedScratch {
  private(set) var rowPack = UnsafeMutablePointer<Float>.allocate(capacity: 1)
  private(set) var columnPack = UnsafeMutablePointer<Float>.allocate(capacity: 1)
  private(set) var product = UnsafeMutablePointer<Float>.allocate(capacity: 1)
  private(set) var inputGram = UnsafeMutablePointer<Double>.allocate(capacity: 1)
  private(set) var deltaGram = UnsafeMutablePointer<Double>.allocate(capacity: 1)
  private var capacity = (rows: 0, columns: 0, width: 0)

  func reserve(rows: Int, columns: Int, width: Int) {
    guard rows > capacity.rows || columns > capacity.columns || width > capacity.width else { return }
    release()
    capacity = (max(rows, capacity.rows), max(columns, capacity.columns), max(width, capacity.width))
    let (m, n, w) = capacity
    rowPack = .allocate(capacity: m * w)
    columnPack = .allocate(capacity: n * w)
    product = .allocate(capacity: m * n)
    inputGram = .allocate(capacity: m * n)
    deltaGram = .allocate(capacity: m * n)
  }

  private func release() {
    rowPack.deallocate()
    columnPack.deallocate()
    product.deallocate()
    inputGram.deallocate()
    deltaGram.deallocate()
  }

  deinit { release() }
}
