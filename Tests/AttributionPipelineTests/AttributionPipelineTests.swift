import ArrayIO
import AttributionPipeline
import EntkTestSupport
import Foundation
import Reporter
import Surrogate
import Testing

/// A small attribution problem on precomputed kernels: N training points with features in R^3
/// and 3 classes, M test points, the kernel k(x, x') = x·x' + 1 and arbitrary network logits.
private struct SmallProblem {
  static let (n, m, c, d) = (12, 5, 3, 3)
  let directory: URL
  /// float64 [n, d] and [m, d].
  let trainFeatures: [Double]
  let testFeatures: [Double]
  let labels: [Int]
  /// float32 [m, c].
  let networkLogits: [Float]

  init() throws {
    directory = try TestEnvironment.temporaryDirectory("AttributionPipeline")
    // Deterministic features from a fixed formula: no generator of the code under test.
    trainFeatures = (0..<(Self.n * Self.d)).map { sin(Double($0) * 1.7 + 0.3) }
    testFeatures = (0..<(Self.m * Self.d)).map { cos(Double($0) * 2.3 + 0.1) }
    labels = (0..<Self.n).map { $0 % Self.c }
    networkLogits = (0..<(Self.m * Self.c)).map { Float(sin(Double($0) * 0.9)) }
    try NPYFile.write(
      NPYArray(float32: kernel(trainFeatures, Self.n).map(Float.init), shape: [Self.n, Self.n]), to: url("train.npy"))
    try NPYFile.write(
      NPYArray(float32: kernel(testFeatures, Self.m).map(Float.init), shape: [Self.m, Self.n]), to: url("test.npy"))
    try NPYFile.write(NPYArray(int64: labels.map(Int64.init), shape: [Self.n]), to: url("labels.npy"))
    try NPYFile.write(NPYArray(float32: networkLogits, shape: [Self.m, Self.c]), to: url("logits.npy"))
  }

  func url(_ name: String) -> URL { directory.appendingPathComponent(name) }

  /// k(a_r, x_i) = a_r·x_i + 1 for the `rows` rows of `a` against the training features, float64.
  func kernel(_ a: [Double], _ rows: Int) -> [Double] {
    var values: [Double] = []
    for r in 0..<rows {
      for i in 0..<Self.n {
        values.append(1 + (0..<Self.d).reduce(0) { $0 + a[r * Self.d + $1] * trainFeatures[i * Self.d + $1] })
      }
    }
    return values
  }

  func request() -> AttributionRequest {
    var request = AttributionRequest(
      kernels: .precomputed(train: url("train.npy").path, test: url("test.npy").path, kind: nil),
      trainLabels: url("labels.npy").path)
    request.testLogits = url("logits.npy").path
    request.surrogate.classWeighting = .none
    request.surrogate.alpha = 1e-2
    return request
  }
}

/// The fitted surrogate is the minimiser of the documented objective: its gradient, computed here
/// from the kernel (float64) and the bundle's W and b, vanishes; the bundle's surrogate logits are
/// W k(x, X) + b, and each attribution splits its logit into the bias and the contributions.
@Test func pipelineFitsTheObjectivesMinimiserAndSplitsLogits() throws {
  let problem = try SmallProblem()
  defer { try? FileManager.default.removeItem(at: problem.directory) }
  let (n, m, c) = (SmallProblem.n, SmallProblem.m, SmallProblem.c)
  let out = problem.url("bundle")
  let outcome = try AttributionPipeline(request: problem.request()).write(to: out, replaceExisting: false)
  #expect(outcome.metrics.fit.converged)
  #expect(outcome.kernelKind == "precomputed")
  let bundle = try AttributionBundle.read(from: out)
  let w = bundle.surrogateWeights.float64Values()
  let b = bundle.surrogateBias.float64Values()
  #expect(bundle.surrogateWeights.shape == [c, n])

  // Gradient of (1/n) Σ_i CE(W k_i + b, y_i) + (α/2)‖W‖² at the fitted W, b.
  let k = problem.kernel(problem.trainFeatures, n).map { Double(Float($0)) }
  var gradW = w.map { 1e-2 * $0 }
  var gradB = [Double](repeating: 0, count: c)
  for i in 0..<n {
    let z = (0..<c).map { cl in b[cl] + (0..<n).reduce(0) { $0 + w[cl * n + $1] * k[i * n + $1] } }
    let top = z.max() ?? 0
    let e = z.map { exp($0 - top) }
    let total = e.reduce(0, +)
    for cl in 0..<c {
      let residual = (e[cl] / total - (problem.labels[i] == cl ? 1 : 0)) / Double(n)
      gradB[cl] += residual
      for j in 0..<n { gradW[cl * n + j] += residual * k[i * n + j] }
    }
  }
  let largest = (gradW + gradB).map(abs).max() ?? .infinity
  #expect(largest < 1e-5, "largest gradient entry \(largest)")

  let testK = problem.kernel(problem.testFeatures, m).map { Double(Float($0)) }
  let surrogateLogits = bundle.surrogateTestLogits.float64Values()
  for x in 0..<m {
    for cl in 0..<c {
      let expected = b[cl] + (0..<n).reduce(0) { $0 + w[cl * n + $1] * testK[x * n + $1] }
      #expect(abs(surrogateLogits[x * c + cl] - expected) < 1e-9 * max(1, abs(expected)))
      let attribution = bundle.attributions.testPoints[x].classes[cl]
      #expect(abs(attribution.bias + attribution.contributionSum - expected) < 1e-9 * max(1, abs(expected)))
    }
  }
  // The agreement of predictions, counted here.
  let agreeing = (0..<m).filter { x in
    let network = (0..<c).max { problem.networkLogits[x * c + $0] < problem.networkLogits[x * c + $1] }
    let surrogate = (0..<c).max { surrogateLogits[x * c + $0] < surrogateLogits[x * c + $1] }
    return network == surrogate
  }
  #expect(outcome.metrics.faithfulness.predictionAgreement == Double(agreeing.count) / Double(m))
  #expect(bundle.networkTestLogits.float32Values() == problem.networkLogits)
}

/// A folder given as a kernel must be one `entk kernel` wrote: without kernel.json it is refused
/// by name, before anything is written.
@Test func aFolderWithoutKernelJSONIsNotAKernelFolder() throws {
  let problem = try SmallProblem()
  defer { try? FileManager.default.removeItem(at: problem.directory) }
  let folder = problem.url("not-a-kernel")
  try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
  try FileManager.default.copyItem(at: problem.url("train.npy"), to: folder.appendingPathComponent("kernel.npy"))
  var request = problem.request()
  request.kernels = .precomputed(train: folder.path, test: problem.url("test.npy").path, kind: nil)
  let out = problem.url("bundle")
  #expect {
    try AttributionPipeline(request: request).write(to: out, replaceExisting: false)
  } throws: { error in
    guard case AttributeError.notAKernelFolder(let path) = error else { return false }
    return path == folder.path && "\(error)".contains("not a kernel folder: kernel.json missing")
  }
  #expect(!FileManager.default.fileExists(atPath: out.path))
}

/// A request whose parts do not go together is refused before any file is read.
@Test(arguments: [
  ("two models, precomputed kernels", "2 models given"),
  ("baselines without samples", "need the train and test samples"),
  ("top-k 0", "top-k must be at least 1"),
])
func invalidRequestsAreRefused(label: String, message: String) throws {
  var request = AttributionRequest(
    kernels: .precomputed(train: "/nonexistent/train.npy", test: "/nonexistent/test.npy", kind: nil),
    trainLabels: "/nonexistent/labels.npy")
  switch label {
  case "two models, precomputed kernels": request.models = ["a", "b"]
  case "baselines without samples": request.baselines = [.gradDot]
  default: request.topK = 0
  }
  #expect {
    try request.check()
  } throws: { error in
    guard case AttributeError.invalidRequest(let reason) = error else { return false }
    return reason.contains(message)
  }
}
