import COpenBLAS
import Dispatch

/// Projects a batch's gradient rows with a `CounterProjection` (R g for each row g), as the batch
/// arrives from the backend: R is generated `chunk` columns at a time, once per batch, and applied
/// to every row of the batch before the next chunk.
///
/// A sample's projected rows depend only on its own gradients and (dense) its position in its
/// projection block, never on the batch size, tile size or thread count:
///
/// - Dense R: OpenBLAS may round a gradient row's products differently depending on the call's
///   shape and the row's place in it, so every sgemm covers one block of `blockSamples` samples
///   (`pieceRows` of R's k by `blockSamples · rowsPerSample` rows, `chunk` deep), aligned to
///   multiples of it in the whole sample set, each sample at its own position; samples the batch
///   does not hold are zero rows whose results are dropped. The whole set's last block has only
///   the samples the set has. The chunks' products are summed in float32 in column order.
/// - Sparse R: each row is accumulated on its own in float64 in column order and scaled by 1/√s.
struct GradientProjector {
  let projection: CounterProjection
  /// Gradient rows per sample: C for `proj-trntk`, 1 for `proj-pntk`.
  let rowsPerSample: Int
  /// Threads sharing the generation and the blocks or rows.
  let threads: Int

  /// Columns of R generated and applied at a time; fixed, so results do not depend on any setting.
  static let chunk = 4096
  /// Rows aimed at per dense sgemm: enough to amortise OpenBLAS's packing of the R chunk, few
  /// enough that a memory-bound batch rarely holds less than a block.
  static let blockRowTarget = 128
  /// Rows of R (projected coordinates) per dense sgemm: fixed, so results do not depend on the
  /// thread count, and small enough that the threads share a block's pieces when a batch holds
  /// fewer blocks than threads (a small test set).
  static let pieceRows = 512

  /// Samples per dense projection block (1 for sparse, which needs no blocks): 32 samples when
  /// that stays within `blockRowTarget` rows, else fewer, at least one.
  static func blockSamples(distribution: ProjectionDistribution, rowsPerSample: Int) -> Int {
    distribution == .sparse ? 1 : max(1, min(32, blockRowTarget / rowsPerSample))
  }

  var blockSamples: Int { Self.blockSamples(distribution: projection.distribution, rowsPerSample: rowsPerSample) }

  /// Floats of scratch `project` needs for a batch of at most `batchSize` samples (float64 and
  /// 32-bit integer scratch counted in floats of the same bytes).
  static func scratchFloats(projection: CounterProjection, rowsPerSample: Int, batchSize: Int) -> Int {
    let k = projection.rows
    let width = min(chunk, projection.columns)
    if projection.distribution == .sparse {
      // A chunk's rows and signs, and one float64 accumulator of k per gradient row (plus a float
      // to align them).
      return 2 * width * projection.density + 2 * batchSize * rowsPerSample * k + 1
    }
    let samples = blockSamples(distribution: projection.distribution, rowsPerSample: rowsPerSample)
    let blockRows = samples * rowsPerSample
    // The R chunk, the projected rows of every block the batch reaches into (at most two partly),
    // and one copy per partly held block of its chunk columns.
    return k * width + (batchSize / samples + 2) * blockRows * k + 2 * blockRows * width
  }

  /// Writes R g for the `rowsPerSample` gradient rows of each of `count` samples into `out`
  /// (`count` × `rowsPerSample` × k floats).
  ///
  /// - Parameters:
  ///   - gradients: `count` × `rowsPerSample` × P floats, row-major.
  ///   - firstSample: the first sample's index in the whole sample set (its block position).
  ///   - setCount: the samples in the whole set: its last block holds only the samples it has.
  ///   - scratch: `scratchFloats(batchSize: ≥ count)` floats.
  func project(
    gradients: UnsafePointer<Float>, count: Int, firstSample: Int, setCount: Int,
    into out: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>
  ) {
    if projection.distribution == .sparse {
      projectSparse(gradients: gradients, count: count, into: out, scratch: scratch)
    } else {
      projectDense(
        gradients: gradients, count: count, firstSample: firstSample, setCount: setCount, into: out, scratch: scratch)
    }
  }

  private func projectDense(
    gradients: UnsafePointer<Float>, count: Int, firstSample: Int, setCount: Int,
    into out: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>
  ) {
    let (p, k) = (projection.columns, projection.rows)
    let samples = blockSamples
    let blockRows = samples * rowsPerSample
    let lead = firstSample % samples
    let blocks = (lead + count + samples - 1) / samples
    let rChunk = scratch
    let projected = rChunk + k * min(Self.chunk, p)
    let copies = projected + blocks * blockRows * k
    // The last block's copy follows the first's, which holds at most min(chunk, P) columns.
    let lastCopy = copies + blockRows * min(Self.chunk, p)
    let rows = rowsPerSample
    // Samples of block `block`: `samples`, fewer in the whole set's last block, which is the
    // same block with the same height in every batch and tiling.
    let height = { @Sendable (block: Int) in min(samples, setCount - (firstSample - lead + block * samples)) }
    // Tasks are (block, piece of R's rows); a piece is one sgemm.
    let pieces = (k + Self.pieceRows - 1) / Self.pieceRows
    let parts = min(threads, blocks * pieces)
    let pointers = UnsafeSendable((gradients, UnsafePointer(rChunk), projected, copies, lastCopy))
    for column in stride(from: 0, to: p, by: Self.chunk) {
      let width = min(Self.chunk, p - column)
      generate(columns: column..<column + width, into: rChunk)
      // The partly held blocks' copies first (only the first and the last block can be partly
      // held; each has its own copy), so that a block's pieces may run on different threads.
      for block in blocks == 1 ? [0] : [0, blocks - 1] {
        let first = block * samples - lead
        let held = max(0, first)..<min(count, first + samples)
        guard held.count < height(block) else { continue }
        let copy = block == 0 ? copies : lastCopy
        copy.initialize(repeating: 0, count: height(block) * rows * width)
        for sample in held {
          for row in 0..<rows {
            (copy + ((sample - first) * rows + row) * width).update(
              from: gradients + (sample * rows + row) * p + column, count: width)
          }
        }
      }
      DispatchQueue.concurrentPerform(iterations: parts) { part in
        let (gradients, rChunk, projected, copies, lastCopy) = pointers.value
        for task in blocks * pieces * part / parts..<blocks * pieces * (part + 1) / parts {
          let (block, piece) = (task / pieces, task % pieces)
          // Batch index of the block's first sample: the block is in place when it is whole.
          let first = block * samples - lead
          let m = height(block) * rows
          let whole = first >= 0 && first + height(block) <= count
          let (a, lda) =
            whole
            ? (gradients + first * rows * p + column, p)
            : (UnsafePointer(block == 0 ? copies : lastCopy), width)
          let lower = piece * Self.pieceRows
          let n = min(Self.pieceRows, k - lower)
          // R's piece as the left operand: measured 14% faster with 16 gradient rows, 4% with
          // 120, than the gradients times Rᵀ (OpenBLAS's Haswell kernels).
          cblas_sgemm(
            CblasRowMajor, CblasNoTrans, CblasTrans, Int32(n), Int32(m), Int32(width), 1, rChunk + lower * width,
            Int32(width), a, Int32(lda), column == 0 ? 0 : 1, projected + (block * k + lower) * blockRows,
            Int32(blockRows))
        }
      }
    }
    // Each block's products are k × blockRows: transposed into the samples' rows.
    for line in 0..<count * rows {
      // The line's place counted from its batch's first block.
      let (block, place) = (lead * rows + line).quotientAndRemainder(dividingBy: blockRows)
      let source = projected + block * blockRows * k + place
      let target = out + line * k
      for j in 0..<k { target[j] = source[j * blockRows] }
    }
  }

  /// Generates R[:, columns] (k × `columns.count`, row-major) with one range of rows per thread.
  private func generate(columns: Range<Int>, into block: UnsafeMutablePointer<Float>) {
    let projection = projection
    let k = projection.rows
    let parts = min(threads, k)
    let pointer = UnsafeSendable(block)
    DispatchQueue.concurrentPerform(iterations: parts) { part in
      let rows = k * part / parts..<k * (part + 1) / parts
      projection.fill(rows: rows, columns: columns, into: pointer.value + rows.lowerBound * columns.count)
    }
  }

  private func projectSparse(
    gradients: UnsafePointer<Float>, count: Int, into out: UnsafeMutablePointer<Float>,
    scratch: UnsafeMutablePointer<Float>
  ) {
    let (p, k, s) = (projection.columns, projection.rows, projection.density)
    let lines = count * rowsPerSample
    let width = min(Self.chunk, p)
    let raw = UnsafeMutableRawPointer(scratch)
    let rowTable = raw.bindMemory(to: UInt32.self, capacity: width * s)
    let signTable = (raw + 4 * width * s).bindMemory(to: Float.self, capacity: width * s)
    let sums = (raw + 8 * width * s).alignedUp(for: Double.self).bindMemory(to: Double.self, capacity: lines * k)
    sums.initialize(repeating: 0, count: lines * k)
    let projection = projection
    let pointers = UnsafeSendable((rowTable, signTable, sums, gradients))
    for column in stride(from: 0, to: p, by: Self.chunk) {
      let columns = column..<min(column + Self.chunk, p)
      let parts = min(threads, columns.count)
      DispatchQueue.concurrentPerform(iterations: parts) { part in
        let (rowTable, signTable, _, _) = pointers.value
        let n = columns.count
        let offset = n * part / parts
        let range = columns.lowerBound + offset..<columns.lowerBound + n * (part + 1) / parts
        projection.fillSparse(columns: range, rows: rowTable + offset * s, signs: signTable + offset * s)
      }
      let lineParts = min(threads, lines)
      DispatchQueue.concurrentPerform(iterations: lineParts) { part in
        let (rowTable, signTable, sums, gradients) = pointers.value
        for line in lines * part / lineParts..<lines * (part + 1) / lineParts {
          let g = gradients + line * p + columns.lowerBound
          let sum = sums + line * k
          for j in 0..<columns.count {
            let value = Double(g[j])
            if value == 0 { continue }
            for t in j * s..<(j + 1) * s { sum[Int(rowTable[t])] += Double(signTable[t]) * value }
          }
        }
      }
    }
    let scale = 1 / Double(s).squareRoot()
    for index in 0..<lines * k { out[index] = Float(sums[index] * scale) }
  }
}
