/// Kernel rows k(x, X_train) for a set of points: the features a kGLM reads.
///
/// For one kernel, row r holds k(x_r, x_1) … k(x_r, x_N). For NFT-K per-layer kernels, the L
/// layers are concatenated, so row r holds [k_1(x_r, X), k_2(x_r, X), …, k_L(x_r, X)] and a
/// kGLM over these rows gives every layer its own weights.
public struct KernelRows: Sendable, Equatable {
  /// Number of points (rows): N for the train kernel, M for a test kernel.
  public let count: Int
  /// Number of training points N (columns per layer).
  public let trainCount: Int
  /// Number of kernels concatenated (1, or L for per-layer kernels).
  public let layerCount: Int
  /// float32, row-major [count, layerCount · trainCount]; layer l of row r starts at
  /// `r * width + l * trainCount`.
  public let values: [Float]

  /// Number of features per row: `layerCount · trainCount`.
  public var width: Int { layerCount * trainCount }

  /// Rows of one kernel.
  /// - Parameters:
  ///   - kernel: float32, row-major [count, trainCount].
  ///   - name: names the kernel in errors (a file path, or "train kernel").
  public init(kernel: [Float], count: Int, trainCount: Int, name: String = "kernel") throws {
    guard count >= 1, trainCount >= 1, kernel.count == count * trainCount else {
      throw SurrogateError.kernelShape(name: name, expected: "[\(count), \(trainCount)]", actual: [kernel.count])
    }
    try Self.checkFinite(kernel, name: name)
    self.count = count
    self.trainCount = trainCount
    self.layerCount = 1
    self.values = kernel
  }

  /// Rows of per-layer kernels, concatenated layer after layer.
  /// - Parameters:
  ///   - layerKernels: float32, row-major [layerCount, count, trainCount], as the kernel stage
  ///     writes per-layer kernels.
  ///   - name: names the kernel in errors.
  public init(layerKernels: [Float], layerCount: Int, count: Int, trainCount: Int, name: String = "kernel") throws {
    guard layerCount >= 1, count >= 1, trainCount >= 1, layerKernels.count == layerCount * count * trainCount else {
      throw SurrogateError.kernelShape(
        name: name, expected: "[\(layerCount), \(count), \(trainCount)]", actual: [layerKernels.count])
    }
    try Self.checkFinite(layerKernels, name: name)
    var rows = [Float](repeating: 0, count: layerKernels.count)
    let width = layerCount * trainCount
    for l in 0..<layerCount {
      for r in 0..<count {
        let source = (l * count + r) * trainCount
        let target = r * width + l * trainCount
        rows.withUnsafeMutableBufferPointer { out in
          layerKernels.withUnsafeBufferPointer { input in
            for i in 0..<trainCount { out[target + i] = input[source + i] }
          }
        }
      }
    }
    self.count = count
    self.trainCount = trainCount
    self.layerCount = layerCount
    self.values = rows
  }

  /// Rows from an array shaped as a kernel file: [count, trainCount] for one kernel or
  /// [layerCount, count, trainCount] for per-layer kernels.
  /// - Parameters:
  ///   - values: float32, row-major, `shape.reduce(1, *)` elements.
  ///   - expectedTrainCount: N, checked against the last dimension.
  public init(values: [Float], shape: [Int], expectedTrainCount: Int? = nil, name: String) throws {
    if let n = expectedTrainCount, shape.last != n {
      throw SurrogateError.kernelShape(name: name, expected: "[…, \(n)] (N = number of training points)", actual: shape)
    }
    switch shape.count {
    case 2: try self.init(kernel: values, count: shape[0], trainCount: shape[1], name: name)
    case 3: try self.init(layerKernels: values, layerCount: shape[0], count: shape[1], trainCount: shape[2], name: name)
    default: throw SurrogateError.kernelShape(name: name, expected: "[M, N] or [L, M, N]", actual: shape)
    }
  }

  /// The rows as float64, row-major [count, width] (the solver works in float64).
  func float64Values() -> [Double] { values.map { Double($0) } }

  private static func checkFinite(_ values: [Float], name: String) throws {
    if let bad = values.firstIndex(where: { !$0.isFinite }) {
      throw SurrogateError.nonFiniteKernel(name: name, index: bad)
    }
  }
}
