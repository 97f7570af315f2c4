import BackendLoader
import COpenBLAS
import Foundation

/// Gradient-similarity attribution baselines on per-sample loss gradients.
///
/// TracIn at one checkpoint (Pruthi et al. 2020) without the learning rate, the scores
/// data-attribution papers compare against.
///
/// With ℓ(x, y) = log Σ_c exp f_c(x) − f_y(x) (softmax cross-entropy) and u(x, y) = ∇_θ ℓ(x, y) =
/// Σ_c (softmax(f(x))_c − [c = y]) ∂f_c(x)/∂θ, the score of training point i for test point x with
/// reference class t is
///
/// - `grad-dot`: u(x, t) · u(x_i, y_i), the first-order decrease of the test loss after a gradient
///   step on x_i (per unit learning rate): positive scores help the prediction of t;
/// - `grad-cos`: the same divided by ‖u(x, t)‖ ‖u(x_i, y_i)‖ (0 where a gradient is 0).
public enum LossGradientMethod: String, CaseIterable, Sendable, Codable {
  case gradDot = "grad-dot"
  case gradCos = "grad-cos"
}

extension LossGradientMethod {
  /// Per-sample loss gradients u(x_i, y_i), float32 [count, P], one `vjp` per batch with
  /// cotangents softmax(f(x_i)) − e_{y_i} (softmax in float64).
  /// - Parameters:
  ///   - samples: the samples, one per label, read for the model's inputs.
  ///   - labels: the class of each sample's loss, in 0..<C.
  /// - Throws: `KernelError.nonFiniteFeatures` when a gradient holds NaN or ±Inf; the backend's errors.
  public static func lossGradients(
    model: BackendModel, samples: SampleSet, labels: [Int], dataset: String, batchSize: Int = 64
  ) throws -> [Float] {
    precondition(samples.count == labels.count, "one label per sample")
    let d = model.description
    let (count, c, p) = (labels.count, d.numOutputs, d.numParams)
    var gradients = [Float](repeating: 0, count: count * p)
    for start in stride(from: 0, to: count, by: batchSize) {
      let rows = min(batchSize, count - start)
      let batch = samples.batch(start..<start + rows)
      let logits = try model.forward(batch).logits
      var cotangents = [Float](repeating: 0, count: rows * c)
      for r in 0..<rows {
        let row = logits[(r * c)..<((r + 1) * c)].map(Double.init)
        let top = row.max() ?? 0
        let exps = row.map { exp($0 - top) }
        let total = exps.reduce(0, +)
        for k in 0..<c { cotangents[r * c + k] = Float(exps[k] / total - (k == labels[start + r] ? 1 : 0)) }
      }
      let batchGradients = try model.vjp(batch, cotangents: cotangents)
      if let bad = batchGradients.firstIndex(where: { !$0.isFinite }) {
        throw KernelError.nonFiniteFeatures(what: "loss gradient", dataset: dataset, sample: start + bad / p)
      }
      gradients.replaceSubrange((start * p)..<((start + rows) * p), with: batchGradients)
    }
    return gradients
  }

  /// The scores of `n` training points for `m` test points, float32 [m, n], from their loss
  /// gradients (float32 [m, P] and [n, P]): one sgemm, then cosine normalisation for `grad-cos`.
  public func scores(test: [Float], m: Int, train: [Float], n: Int, parameters p: Int) -> [Float] {
    precondition(test.count == m * p && train.count == n * p, "gradients must be [m, P] and [n, P]")
    var out = [Float](repeating: 0, count: m * n)
    guard m > 0, n > 0, p > 0 else { return out }
    test.withUnsafeBufferPointer { a in
      train.withUnsafeBufferPointer { b in
        out.withUnsafeMutableBufferPointer { c in
          cblas_sgemm(
            CblasRowMajor, CblasNoTrans, CblasTrans, Int32(m), Int32(n), Int32(p), 1, a.baseAddress, Int32(p),
            b.baseAddress, Int32(p), 0, c.baseAddress, Int32(n))
        }
      }
    }
    guard self == .gradCos else { return out }
    let testNorms = Self.norms(test, rows: m, width: p)
    let trainNorms = Self.norms(train, rows: n, width: p)
    for i in 0..<m {
      for j in 0..<n {
        let scale = testNorms[i] * trainNorms[j]
        out[i * n + j] = scale > 0 ? Float(Double(out[i * n + j]) / scale) : 0
      }
    }
    return out
  }

  /// Euclidean norm of each row, accumulated in float64.
  public static func norms(_ values: [Float], rows: Int, width: Int) -> [Double] {
    (0..<rows).map { r in
      var sum = 0.0
      for k in 0..<width { sum += Double(values[r * width + k]) * Double(values[r * width + k]) }
      return sum.squareRoot()
    }
  }
}
