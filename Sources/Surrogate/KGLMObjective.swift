import COpenBLAS
import Foundation

/// The kGLM's training objective and its gradient, in float64.
///
///
///   J(W, b) = (1/n) Σ_i s_i · (logsumexp(z_i) − z_{i, y_i}) + (α/2) ‖W‖²_F,   z_i = W f_i + b,
///
/// with f_i the i-th kernel row, y_i its target class and s_i its weight (`ClassWeighting`). The
/// bias is not penalised. This is scikit-learn's `LogisticRegression(C = 1 / (α n))` objective
/// divided by C·n, and the mean-loss-plus-(α/2)‖W‖² form of `SGDClassifier(alpha = α)`.
struct KGLMObjective {
  let features: [Double]  // float64, row-major [count, width]
  let count: Int
  let width: Int
  let classCount: Int
  let labels: [Int]
  let sampleWeights: [Double]  // float64, [count]
  let alpha: Double

  /// Number of parameters: classCount · width weights followed by classCount biases.
  var parameterCount: Int { classCount * width + classCount }

  /// Splits a parameter vector into weights [classCount, width] and bias [classCount].
  func split(_ theta: [Double]) -> (weights: [Double], bias: [Double]) {
    (Array(theta[0..<(classCount * width)]), Array(theta[(classCount * width)...]))
  }

  /// The objective at `theta` and its gradient (same layout as `theta`).
  func evaluate(_ theta: [Double]) -> (value: Double, gradient: [Double]) {
    let weightCount = classCount * width
    var z = [Double](repeating: 0, count: count * classCount)
    for r in 0..<count {
      for c in 0..<classCount { z[r * classCount + c] = theta[weightCount + c] }
    }
    theta.withUnsafeBufferPointer { t in
      cblas_dgemm(
        CblasRowMajor, CblasNoTrans, CblasTrans, Int32(count), Int32(classCount), Int32(width),
        1, features, Int32(width), t.baseAddress, Int32(width), 1, &z, Int32(classCount))
    }
    // z becomes G = (1/n) s_i (softmax(z_i) − onehot(y_i)), the loss's gradient in z.
    let n = Double(count)
    var loss = 0.0
    for r in 0..<count {
      let base = r * classCount
      var maximum = -Double.infinity
      for c in 0..<classCount { maximum = max(maximum, z[base + c]) }
      var sum = 0.0
      for c in 0..<classCount { sum += exp(z[base + c] - maximum) }
      let logSum = maximum + log(sum)
      let weight = sampleWeights[r] / n
      loss += weight * (logSum - z[base + labels[r]])
      for c in 0..<classCount { z[base + c] = weight * exp(z[base + c] - logSum) }
      z[base + labels[r]] -= weight
    }
    var gradient = [Double](repeating: 0, count: parameterCount)
    var penalty = 0.0
    for j in 0..<weightCount {
      penalty += theta[j] * theta[j]
      gradient[j] = alpha * theta[j]
    }
    // ∇W = Gᵀ F + α W  ([classCount, width]); ∇b = Σ_r G_r.
    cblas_dgemm(
      CblasRowMajor, CblasTrans, CblasNoTrans, Int32(classCount), Int32(width), Int32(count),
      1, z, Int32(classCount), features, Int32(width), 1, &gradient, Int32(width))
    for r in 0..<count {
      for c in 0..<classCount { gradient[weightCount + c] += z[r * classCount + c] }
    }
    return (loss + 0.5 * alpha * penalty, gradient)
  }
}
