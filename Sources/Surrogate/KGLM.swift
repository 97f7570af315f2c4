import COpenBLAS

/// A fitted kernel generalised linear model: logits_hat(x) = W k(x, X_train) + b.
///
/// With per-layer kernels (NFT-K), `weights` has one block of N columns per layer, in the order
/// of `KernelRows`, so layer l's part of a logit is Σ_i W[c, l·N + i] · k_l(x, x_i).
public struct KGLM: Sendable, Equatable {
  /// Number of classes C (logits per point).
  public let classCount: Int
  /// Number of training points N.
  public let trainCount: Int
  /// Number of kernels concatenated (1, or L layers).
  public let layerCount: Int
  /// float64, row-major [classCount, layerCount · trainCount].
  public let weights: [Double]
  /// float64, [classCount].
  public let bias: [Double]

  /// Number of weights per class: `layerCount · trainCount`.
  public var width: Int { layerCount * trainCount }

  /// A kGLM from its parameters, for example read back from a bundle.
  ///
  /// - Parameters:
  ///   - weights: float64, row-major [classCount, layerCount · trainCount].
  ///   - bias: float64, [classCount].
  public init(classCount: Int, trainCount: Int, layerCount: Int, weights: [Double], bias: [Double]) throws {
    guard classCount >= 1, trainCount >= 1, layerCount >= 1 else {
      throw SurrogateError.invalidSetting(
        name: "kGLM shape", value: "C=\(classCount) N=\(trainCount) L=\(layerCount)",
        reason: "every size must be at least 1")
    }
    guard weights.count == classCount * layerCount * trainCount else {
      throw SurrogateError.kernelShape(
        name: "surrogate weights", expected: "[\(classCount), \(layerCount * trainCount)]", actual: [weights.count])
    }
    guard bias.count == classCount else {
      throw SurrogateError.kernelShape(name: "surrogate bias", expected: "[\(classCount)]", actual: [bias.count])
    }
    self.classCount = classCount
    self.trainCount = trainCount
    self.layerCount = layerCount
    self.weights = weights
    self.bias = bias
  }

  /// The surrogate's logits for every row: float64, row-major [rows.count, classCount],
  /// accumulated in float64 (one `cblas_dgemm`).
  public func logits(_ rows: KernelRows) throws -> [Double] {
    try checkLayout(rows)
    return Self.logits(
      features: rows.float64Values(), count: rows.count, width: width, weights: weights, bias: bias,
      classCount: classCount)
  }

  /// Throws unless `rows` has this model's N and L.
  public func checkLayout(_ rows: KernelRows) throws {
    guard rows.trainCount == trainCount, rows.layerCount == layerCount else {
      throw SurrogateError.layoutMismatch(
        expected: "N = \(trainCount), L = \(layerCount)", actual: "N = \(rows.trainCount), L = \(rows.layerCount)")
    }
  }

  /// Z = F Wᵀ + b for float64 row-major features F [count, width], weights W [classCount, width].
  static func logits(features: [Double], count: Int, width: Int, weights: [Double], bias: [Double], classCount: Int)
    -> [Double]
  {
    var z = [Double](repeating: 0, count: count * classCount)
    for r in 0..<count {
      for c in 0..<classCount { z[r * classCount + c] = bias[c] }
    }
    cblas_dgemm(
      CblasRowMajor, CblasNoTrans, CblasTrans, Int32(count), Int32(classCount), Int32(width),
      1, features, Int32(width), weights, Int32(width), 1, &z, Int32(classCount))
    return z
  }
}
