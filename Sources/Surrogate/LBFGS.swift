import COpenBLAS

/// Limited-memory BFGS with a backtracking (Armijo) line search: a deterministic minimiser for
/// smooth convex objectives, in float64.
struct LBFGS {
  /// Why the minimiser stopped.
  enum Stop: String, Sendable, Codable {
    /// ‖∇J‖_∞ fell to the tolerance: converged.
    case gradientTolerance = "gradient-tolerance"
    /// The objective stopped decreasing at float64 precision before the gradient tolerance.
    case noProgress = "no-progress"
    /// The iteration limit was reached.
    case iterationLimit = "iteration-limit"
  }

  struct Result {
    var solution: [Double]
    var value: Double
    var gradientNorm: Double  // ‖∇J‖_∞ at `solution`
    var iterations: Int
    var evaluations: Int
    var stop: Stop
  }

  var history = 10
  var maxIterations = 1000
  var gradientTolerance = 1e-6

  /// Minimises from `start`; `progress` is called after each iteration with the iteration
  /// number, the objective and ‖∇‖_∞.
  func minimize(
    from start: [Double], progress: (Int, Double, Double) -> Void = { _, _, _ in },
    _ evaluate: ([Double]) -> (value: Double, gradient: [Double])
  ) -> Result {
    var x = start
    var (f, g) = evaluate(x)
    var evaluations = 1
    var steps: [[Double]] = []  // s_k = x_{k+1} − x_k
    var changes: [[Double]] = []  // y_k = g_{k+1} − g_k
    var rhos: [Double] = []  // 1 / (y_kᵀ s_k)
    var iteration = 0
    while true {
      let norm = g.reduce(0) { max($0, abs($1)) }
      if norm <= gradientTolerance {
        return Result(
          solution: x, value: f, gradientNorm: norm, iterations: iteration, evaluations: evaluations,
          stop: .gradientTolerance)
      }
      if iteration >= maxIterations {
        return Result(
          solution: x, value: f, gradientNorm: norm, iterations: iteration, evaluations: evaluations,
          stop: .iterationLimit)
      }
      // Two-loop recursion: direction = −H g.
      var q = g
      var alphas = [Double](repeating: 0, count: steps.count)
      for k in stride(from: steps.count - 1, through: 0, by: -1) {
        alphas[k] = rhos[k] * dot(steps[k], q)
        axpy(-alphas[k], changes[k], &q)
      }
      if let last = steps.indices.last {
        let scale = dot(steps[last], changes[last]) / dot(changes[last], changes[last])
        for j in q.indices { q[j] *= scale }
      } else {
        let l2 = dot(g, g).squareRoot()
        for j in q.indices { q[j] /= max(l2, 1) }
      }
      for k in 0..<steps.count {
        let beta = rhos[k] * dot(changes[k], q)
        axpy(alphas[k] - beta, steps[k], &q)
      }
      var direction = q.map { -$0 }
      var slope = dot(g, direction)
      if slope >= 0 {
        // Not a descent direction (rounding); restart from steepest descent.
        steps.removeAll()
        changes.removeAll()
        rhos.removeAll()
        direction = g.map { -$0 / max(dot(g, g).squareRoot(), 1) }
        slope = dot(g, direction)
      }
      var step = 1.0
      var accepted: (x: [Double], f: Double, g: [Double])?
      for _ in 0..<60 {
        var candidate = x
        axpy(step, direction, &candidate)
        let (fc, gc) = evaluate(candidate)
        evaluations += 1
        if fc <= f + 1e-4 * step * slope {
          accepted = (candidate, fc, gc)
          break
        }
        step *= 0.5
      }
      guard let next = accepted, next.f < f || next.g.reduce(0, { max($0, abs($1)) }) < norm else {
        return Result(
          solution: x, value: f, gradientNorm: norm, iterations: iteration, evaluations: evaluations, stop: .noProgress)
      }
      var s = next.x
      axpy(-1, x, &s)
      var y = next.g
      axpy(-1, g, &y)
      let curvature = dot(y, s)
      if curvature > 1e-12 * dot(y, y).squareRoot() * dot(s, s).squareRoot() {
        if steps.count == history {
          steps.removeFirst()
          changes.removeFirst()
          rhos.removeFirst()
        }
        steps.append(s)
        changes.append(y)
        rhos.append(1 / curvature)
      }
      x = next.x
      f = next.f
      g = next.g
      iteration += 1
      progress(iteration, f, g.reduce(0) { max($0, abs($1)) })
    }
  }

  private func dot(_ a: [Double], _ b: [Double]) -> Double {
    cblas_ddot(Int32(a.count), a, 1, b, 1)
  }

  private func axpy(_ a: Double, _ x: [Double], _ y: inout [Double]) {
    cblas_daxpy(Int32(y.count), a, x, 1, &y, 1)
  }
}
