import Foundation
import Reporter

/// The attribution scores a bundle holds, per method, for the test points' labels: what
/// `entk evaluate` checks against retraining.
enum BundleScores {
  /// Refuses a bundle whose training or test labels differ from `train` and `test` (values and
  /// the file they came from): its scores would be for other data, or in another order.
  static func checkLabels(
    _ bundle: AttributionBundle, path: String, train: ([Int64], String), test: ([Int64], String)
  ) throws {
    guard (try? bundle.trainLabels.int64Values()) == train.0 else {
      throw EvaluateError.bundleMismatch(
        bundle: path, reason: "its training labels differ from \(train.1) (other data or order)")
    }
    guard let labels = bundle.testLabels else {
      throw EvaluateError.bundleMismatch(bundle: path, reason: "it has no test labels (margins are at the labels)")
    }
    guard (try? labels.int64Values()) == test.0 else {
      throw EvaluateError.bundleMismatch(
        bundle: path, reason: "its test labels differ from \(test.1) (other data or order)")
    }
  }

  /// Each method's scores for the test labels, float64 [M, N]: the kGLM's Σ_l W_l[t, i] k_l(x, x_i)
  /// first, then the bundle's baselines.
  static func forLabels(_ bundle: AttributionBundle, labels: [Int]) throws -> [(String, [Double])] {
    let weights = bundle.surrogateWeights.float64Values()
    let kernel = bundle.testKernel.float64Values()
    let shape = bundle.testKernel.shape
    let (layers, m, n) = shape.count == 3 ? (shape[0], shape[1], shape[2]) : (1, shape[0], shape[1])
    let width = layers * n
    var kglm = [Double](repeating: 0, count: m * n)
    for x in 0..<m {
      let row = labels[x] * width
      for l in 0..<layers {
        for i in 0..<n { kglm[x * n + i] += weights[row + l * n + i] * kernel[(l * m + x) * n + i] }
      }
    }
    var methods = [("kglm", kglm)]
    for record in bundle.manifest.baselines ?? [] {
      guard record.referenceClass == "label", let array = bundle.baselineScores[record.file] else {
        throw EvaluateError.bundleMismatch(
          bundle: record.file, reason: "its scores are for the network's predictions, not the test labels")
      }
      methods.append((record.method, array.float64Values()))
    }
    return methods
  }
}
