/// Gemm and MatMul: the dense layers, through OpenBLAS.
enum LinearOperators {
  /// Y = alpha op(A) op(B) + beta C, A and B 2-D, C broadcast to [M, N].
  static let gemm = OperatorDefinition(
    differentiableInputs: [0, 1, 2],
    forward: { c in
      let a = try c.input(0)
      let b = try c.input(1)
      let (transA, transB, alpha, beta) = try gemmAttributes(c)
      guard a.rank == 2, b.rank == 2 else { throw ONNXError.shapeMismatch("A \(a.shape) and B \(b.shape) must be 2-D") }
      let (m, k) = transA ? (a.shape[1], a.shape[0]) : (a.shape[0], a.shape[1])
      let (kb, n) = transB ? (b.shape[1], b.shape[0]) : (b.shape[0], b.shape[1])
      guard k == kb else {
        throw ONNXError.shapeMismatch(
          "A \(a.shape) (transA=\(transA)) and B \(b.shape) (transB=\(transB)) do not multiply")
      }
      let x = try c.floats(0)
      let w = try c.floats(1)
      var y = [Float](repeating: 0, count: m * n)
      if let bias = c.optionalInput(2) {
        guard (try? IndexMap.broadcastShape(bias.shape, [m, n])) == [m, n] else {
          throw ONNXError.shapeMismatch("C \(bias.shape) does not broadcast to [\(m), \(n)]")
        }
        let values = try bias.floats("C")
        let map = IndexMap.broadcast(from: bias.shape, to: [m, n])
        for i in 0..<y.count { y[i] = beta * values[map[i]] }
      }
      MatrixMultiply.sgemm(transposeA: transA, transposeB: transB, m: m, n: n, k: k, alpha: alpha, x, w, beta: 1, &y)
      return [Tensor(shape: [m, n], floats: y)]
    },
    stackedBackward: { c, outputs, gradients, needs, rows in
      guard let g = try gradients[0]?.floats("gradient") else { return [nil, nil, nil] }
      let a = try c.input(0)
      let b = try c.input(1)
      let (transA, transB, alpha, beta) = try gemmAttributes(c)
      let m = outputs[0].shape[0]
      let n = outputs[0].shape[1]
      let k = transA ? a.shape[0] : a.shape[1]
      guard g.count == rows * m * n else {
        throw ONNXError.shapeMismatch("\(rows) gradient rows of [\(m), \(n)] hold \(g.count) floats")
      }
      let x = try c.floats(0)
      let w = try c.floats(1)
      var result: [Tensor?] = [nil, nil, nil]
      if needs[0] {
        var da = [Float](repeating: 0, count: rows * m * k)
        if transA {  // dA_r [K, M] = alpha op(B) g_rᵀ
          for r in 0..<rows {
            MatrixMultiply.sgemm(
              transposeA: transB, transposeB: true, m: k, n: m, k: n, alpha: alpha, w, g, bOffset: r * m * n, beta: 0,
              &da, cOffset: r * m * k)
          }
        } else {  // the rows stacked: dA [rows·M, K] = alpha g op(B)ᵀ, one sgemm
          MatrixMultiply.sgemm(
            transposeA: false, transposeB: !transB, m: rows * m, n: k, k: n, alpha: alpha, g, w, beta: 0, &da)
        }
        result[0] = Tensor(shape: [rows] + a.shape, floats: da)
      }
      if needs[1] {
        // g_r side by side, [M, rows·N], so that one sgemm serves every row.
        var side = [Float](repeating: 0, count: g.count)
        for r in 0..<rows {
          for i in 0..<m {
            for j in 0..<n { side[i * rows * n + r * n + j] = g[(r * m + i) * n + j] }
          }
        }
        var db = [Float](repeating: 0, count: rows * k * n)
        if transB {  // dB_r [N, K] = alpha g_rᵀ op(A): stacked, [rows·N, K] = alpha sideᵀ op(A)
          MatrixMultiply.sgemm(
            transposeA: true, transposeB: transA, m: rows * n, n: k, k: m, alpha: alpha, side, x, beta: 0, &db)
        } else {  // dB_r [K, N] = alpha op(A)ᵀ g_r: [K, rows·N] = alpha op(A)ᵀ side, then rows apart
          var wide = [Float](repeating: 0, count: k * rows * n)
          MatrixMultiply.sgemm(
            transposeA: !transA, transposeB: false, m: k, n: rows * n, k: m, alpha: alpha, x, side, beta: 0, &wide)
          for r in 0..<rows {
            for i in 0..<k {
              for j in 0..<n { db[(r * k + i) * n + j] = wide[i * rows * n + r * n + j] }
            }
          }
        }
        result[1] = Tensor(shape: [rows] + b.shape, floats: db)
      }
      if needs.count > 2, needs[2], let bias = c.optionalInput(2) {
        let map = IndexMap.broadcast(from: bias.shape, to: [m, n])
        var dc = [Float](repeating: 0, count: rows * bias.count)
        for r in 0..<rows {
          for (i, target) in map.enumerated() { dc[r * bias.count + target] += beta * g[r * m * n + i] }
        }
        result[2] = Tensor(shape: [rows] + bias.shape, floats: dc)
      }
      return result
    })

  static func gemmAttributes(_ c: OperatorContext) throws -> (Bool, Bool, Float, Float) {
    (
      try c.int("transA", default: 0) != 0, try c.int("transB", default: 0) != 0,
      try c.float("alpha", default: 1), try c.float("beta", default: 1)
    )
  }

  /// Batched matrix shapes of numpy matmul: batch shape, M, K, N, and the per-input batch maps.
  struct MatMulPlan {
    var batchShape: [Int]
    var m: Int, k: Int, n: Int
    var aBatch: [Int], bBatch: [Int]
    var outputShape: [Int]
  }

  static func plan(_ a: [Int], _ b: [Int]) throws -> MatMulPlan {
    guard !a.isEmpty, !b.isEmpty else { throw ONNXError.shapeMismatch("MatMul inputs must not be scalars") }
    let a2 = a.count == 1 ? [1, a[0]] : a
    let b2 = b.count == 1 ? [b[0], 1] : b
    let (m, k) = (a2[a2.count - 2], a2[a2.count - 1])
    let (kb, n) = (b2[b2.count - 2], b2[b2.count - 1])
    guard k == kb else {
      throw ONNXError.shapeMismatch("MatMul of \(a) and \(b): inner dimensions \(k) and \(kb) differ")
    }
    let aBatchShape = Array(a2.dropLast(2))
    let bBatchShape = Array(b2.dropLast(2))
    let batch = try IndexMap.broadcastShape(aBatchShape, bBatchShape)
    var output = batch
    if a.count > 1 { output.append(m) }
    if b.count > 1 { output.append(n) }
    return MatMulPlan(
      batchShape: batch, m: m, k: k, n: n, aBatch: IndexMap.broadcast(from: aBatchShape, to: batch),
      bBatch: IndexMap.broadcast(from: bBatchShape, to: batch), outputShape: output)
  }

  static let matMul = OperatorDefinition(
    differentiableInputs: [0, 1],
    forward: { c in
      let p = try plan(c.input(0).shape, c.input(1).shape)
      let x = try c.floats(0)
      let w = try c.floats(1)
      var y = [Float](repeating: 0, count: p.aBatch.count * p.m * p.n)
      for batch in 0..<p.aBatch.count {
        MatrixMultiply.sgemm(
          transposeA: false, transposeB: false, m: p.m, n: p.n, k: p.k, x, aOffset: p.aBatch[batch] * p.m * p.k, w,
          bOffset: p.bBatch[batch] * p.k * p.n, beta: 0, &y, cOffset: batch * p.m * p.n)
      }
      return [Tensor(shape: p.outputShape, floats: y)]
    },
    backward: { c, _, gradients, needs in
      guard let g = try gradients[0]?.floats("gradient") else { return [nil, nil] }
      let a = try c.input(0)
      let b = try c.input(1)
      let p = try plan(a.shape, b.shape)
      let x = try c.floats(0)
      let w = try c.floats(1)
      var da = needs[0] ? [Float](repeating: 0, count: a.count) : []
      var db = needs[1] ? [Float](repeating: 0, count: b.count) : []
      for batch in 0..<p.aBatch.count {
        let gOffset = batch * p.m * p.n
        if needs[0] {  // dA_b += g_b B_bᵀ
          MatrixMultiply.sgemm(
            transposeA: false, transposeB: true, m: p.m, n: p.k, k: p.n, g, aOffset: gOffset, w,
            bOffset: p.bBatch[batch] * p.k * p.n, beta: 1, &da, cOffset: p.aBatch[batch] * p.m * p.k)
        }
        if needs[1] {  // dB_b += A_bᵀ g_b
          MatrixMultiply.sgemm(
            transposeA: true, transposeB: false, m: p.k, n: p.n, k: p.m, x, aOffset: p.aBatch[batch] * p.m * p.k, g,
            bOffset: gOffset, beta: 1, &db, cOffset: p.bBatch[batch] * p.k * p.n)
        }
      }
      return [needs[0] ? Tensor(shape: a.shape, floats: da) : nil, needs[1] ? Tensor(shape: b.shape, floats: db) : nil]
    })

  static let all: [String: OperatorDefinition] = ["Gemm": gemm, "MatMul": matMul]
}
