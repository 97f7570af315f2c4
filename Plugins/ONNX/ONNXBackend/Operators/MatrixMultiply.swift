import COpenBLAS

/// Row-major single-precision GEMM through OpenBLAS: C = alpha op(A) op(B) + beta C, with op(A) m×k
/// and op(B) k×n.
///
/// Safe for empty dimensions. Every call stays on the calling thread: the host runs the backend
/// on one thread per core, so an OpenBLAS thread pool would only spin against the host's other
/// callers (measured: the digits CNN's stacked Jacobian products took 4× longer on 2 host
/// threads). `ONNXModel` therefore puts OpenBLAS in single-threaded mode when a model opens
/// (`OpenBLASThreading`), and each product is one call, however large.
enum MatrixMultiply {
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
    // A product with one row or one column is a matrix-vector product: sgemv reads the matrix
    // once, where sgemm would first pack all of it (a dense layer applied to one sample). The
    // vector (a [1, k] or [k, 1] matrix) and the result are contiguous either way.
    if m == 1 {  // c = op(B)ᵀ a
      cblas_sgemv(
        CblasRowMajor, transposeB ? CblasNoTrans : CblasTrans, Int32(transposeB ? n : k), Int32(transposeB ? k : n),
        alpha, b + bOffset, Int32(ldb), a + aOffset, 1, beta, c + cOffset, 1)
      return
    }
    if n == 1 {  // c = op(A) b
      cblas_sgemv(
        CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, Int32(transposeA ? k : m), Int32(transposeA ? m : k),
        alpha, a + aOffset, Int32(lda), b + bOffset, 1, beta, c + cOffset, 1)
      return
    }
    cblas_sgemm(
      CblasRowMajor, transposeA ? CblasTrans : CblasNoTrans, transposeB ? CblasTrans : CblasNoTrans,
      Int32(m), Int32(n), Int32(k), alpha, a + aOffset, Int32(lda), b + bOffset, Int32(ldb), beta,
      c + cOffset, Int32(n))
  }

  /// Writes the transpose of the row-major `rows` × `columns` matrix at `a` to `b` (`columns` ×
  /// `rows`), through OpenBLAS's out-of-place copy.
  static func transpose(_ a: UnsafePointer<Float>, rows: Int, columns: Int, into b: UnsafeMutablePointer<Float>) {
    guard rows > 0, columns > 0 else { return }
    cblas_somatcopy(CblasRowMajor, CblasTrans, Int32(rows), Int32(columns), 1, a, Int32(columns), b, Int32(rows))
  }
}
