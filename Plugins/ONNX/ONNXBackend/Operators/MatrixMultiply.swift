import COpenBLAS

/// Row-major single-precision GEMM through OpenBLAS: C = alpha op(A) op(B) + beta C, with op(A) m×k
/// and op(B) k×n.
///
/// Safe for empty dimensions. Every call stays on the calling thread: the host already runs the
/// backend on one thread per core, and OpenBLAS (0.3.x, pthreads) hands any product with
/// m·n·k above 2¹⁸ to its own thread pool, whose workers then spin against the host's other
/// callers (measured: the digits CNN's stacked Jacobian products took 4× longer on 2 host
/// threads). Larger products are therefore cut into blocks of rows of C below that size.
enum MatrixMultiply {
  /// OpenBLAS's threading threshold, SMP_THRESHOLD_MIN (65536) × GEMM_MULTITHREAD_THRESHOLD (4).
  static let singleThreadWork = 1 << 18

  static func sgemm(
    transposeA: Bool, transposeB: Bool, m: Int, n: Int, k: Int, alpha: Float = 1,
    _ a: UnsafePointer<Float>, aOffset: Int = 0, _ b: UnsafePointer<Float>, bOffset: Int = 0,
    beta: Float, _ c: UnsafeMutablePointer<Float>, cOffset: Int = 0
  ) {
    guard m > 0, n > 0 else { return }
    guard k > 0 else {
      for i in 0..<(m * n) { c[cOffset + i] *= beta }
      return
    }
    let lda = transposeA ? m : k
    let ldb = transposeB ? k : n
    let block = max(1, singleThreadWork / (n * k))
    var row = 0
    while row < m {
      let rows = min(block, m - row)
      // Row `row` of op(A) is row `row` of A, or column `row` of A when transposed.
      let aStart = aOffset + (transposeA ? row : row * lda)
      cblas_sgemm(
        CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
        Int32(rows), Int32(n), Int32(k), alpha, a + aStart, Int32(lda), b + bOffset, Int32(ldb), beta,
        c + cOffset + row * n, Int32(n))
      row += rows
    }
  }
}
