import ArrayIO
import COpenBLAS
import EntkTestSupport
import Foundation
import Surrogate
import Testing

@Test func fitConvergesAndMatchesScikitLearnWithTheSameAlphaConvention() throws {
  let problem = ToyProblem(trainCount: 60, testCount: 10, classCount: 3, seed: 7)
  let rows = try problem.trainRows()
  var settings = KGLMSettings()
  settings.alpha = 1e-2
  settings.gradientTolerance = 1e-9
  // Unbalanced classes, so class weighting matters.
  var labels = problem.trainLabels
  for i in 0..<10 { labels[3 * i] = 1 }
  let (model, report) = try KGLM.fit(rows: rows, labels: labels, classCount: 3, settings: settings)
  #expect(report.converged)
  #expect(report.stopReason == "gradient-tolerance")
  #expect(report.gradientNorm <= 1e-9)

  let directory = try TestEnvironment.temporaryDirectory()
  defer { try? FileManager.default.removeItem(at: directory) }
  try NPYFile.write(NPYArray(float32: rows.values, shape: [60, 60]), to: directory.appendingPathComponent("K.npy"))
  try NPYFile.write(
    NPYArray(int64: labels.map { Int64($0) }, shape: [60]), to: directory.appendingPathComponent("y.npy"))
  let output = try runPython(
    """
    import sys, json, numpy as np
    from sklearn.linear_model import LogisticRegression
    d = sys.argv[1]
    K = np.load(d + "/K.npy").astype(np.float64); y = np.load(d + "/y.npy")
    alpha = float(sys.argv[2]); n = K.shape[0]
    m = LogisticRegression(C=1.0 / (alpha * n), class_weight="balanced", tol=1e-12, max_iter=100000).fit(K, y)
    print(json.dumps({"weights": m.coef_.ravel().tolist(), "bias": m.intercept_.tolist()}))
    """, [directory.path, "\(settings.alpha)"], in: directory)
  struct Fit: Decodable {
    var weights: [Double]
    var bias: [Double]
  }
  let reference = try JSONDecoder().decode(Fit.self, from: Data(output.utf8))
  let largest = reference.weights.map(abs).max() ?? 1
  for (ours, theirs) in zip(model.weights, reference.weights) {
    #expect(abs(ours - theirs) <= 1e-4 * largest)
  }
  // The bias is unpenalised and softmax ignores a common shift: compare it centred.
  let ourMean = model.bias.reduce(0, +) / 3
  let theirMean = reference.bias.reduce(0, +) / 3
  let biasScale = max(1, reference.bias.map(abs).max() ?? 1)
  for (ours, theirs) in zip(model.bias, reference.bias) {
    let difference = (ours - ourMean) - (theirs - theirMean)
    #expect(abs(difference) <= 1e-4 * biasScale)
  }
}

@Test func iterationLimitIsReportedAsNotConverged() throws {
  let problem = ToyProblem(trainCount: 30, testCount: 5, classCount: 3, seed: 1)
  var settings = KGLMSettings()
  settings.maxIterations = 2
  let (_, report) = try KGLM.fit(
    rows: try problem.trainRows(), labels: problem.trainLabels, classCount: 3, settings: settings)
  #expect(!report.converged)
  #expect(report.stopReason == "iteration-limit")
  #expect(report.iterations == 2)
}

@Test func fitIsDeterministic() throws {
  let problem = ToyProblem(trainCount: 40, testCount: 5, classCount: 4, seed: 3)
  let first = try KGLM.fit(rows: try problem.trainRows(), labels: problem.trainLabels, classCount: 4)
  let second = try KGLM.fit(rows: try problem.trainRows(), labels: problem.trainLabels, classCount: 4)
  #expect(first.model == second.model)
  #expect(first.report == second.report)
}

@Test func fitRejectsBadLabelsAndKernels() throws {
  let problem = ToyProblem(trainCount: 20, testCount: 5, classCount: 2, seed: 2)
  let rows = try problem.trainRows()
  #expect(throws: SurrogateError.labelCount(name: "train labels", expected: 20, actual: 19)) {
    try KGLM.fit(rows: rows, labels: Array(problem.trainLabels.dropLast()), classCount: 2)
  }
  var outOfRange = problem.trainLabels
  outOfRange[4] = 2
  #expect(throws: SurrogateError.labelOutOfRange(name: "train labels", index: 4, label: 2, classCount: 2)) {
    try KGLM.fit(rows: rows, labels: outOfRange, classCount: 2)
  }
  let testRows = try problem.testRows()
  #expect(throws: SurrogateError.self) { try KGLM.fit(rows: testRows, labels: problem.testLabels, classCount: 2) }
  #expect(throws: SurrogateError.self) {
    try KernelRows(values: [Float](repeating: 1, count: 12), shape: [3, 4], expectedTrainCount: 5, name: "T.npy")
  }
  var nan = ToyProblem.rbf(problem.trainX, problem.trainX)
  nan[7] = .nan
  #expect(throws: SurrogateError.nonFiniteKernel(name: "K", index: 7)) {
    try KernelRows(kernel: nan, count: 20, trainCount: 20, name: "K")
  }
}

@Test func layerKernelsAreConcatenatedPerRow() throws {
  // Two layers, 2 rows, N = 3: layer l, row r, column i holds 100·l + 10·r + i.
  var values: [Float] = []
  for l in 0..<2 {
    for r in 0..<2 {
      for i in 0..<3 { values.append(Float(100 * l + 10 * r + i)) }
    }
  }
  let rows = try KernelRows(values: values, shape: [2, 2, 3], name: "layers")
  #expect(rows.layerCount == 2 && rows.width == 6)
  #expect(rows.values == [0, 1, 2, 100, 101, 102, 10, 11, 12, 110, 111, 112])
}

@Test func fitIsDeterministicAndRunsBLASOnOneThread() throws {
  let problem = ToyProblem(trainCount: 200, testCount: 5, classCount: 4, seed: 9)
  let rows = try problem.trainRows()
  let first = try KGLM.fit(rows: rows, labels: problem.trainLabels, classCount: 4)
  let second = try KGLM.fit(rows: rows, labels: problem.trainLabels, classCount: 4)
  #expect(openblas_get_num_threads() == 1)
  #expect(first.model == second.model)
  #expect(first.report == second.report)
}

@Test func progressReportsEveryIterationUpToTheLast() throws {
  let problem = ToyProblem(trainCount: 30, testCount: 5, classCount: 3, seed: 4)
  var seen: [KGLMFitProgress] = []
  let (_, report) = try KGLM.fit(rows: try problem.trainRows(), labels: problem.trainLabels, classCount: 3) {
    seen.append($0)
  }
  #expect(seen.map(\.iteration) == Array(1...report.iterations))
  #expect(seen.last?.gradientNorm == report.gradientNorm)
  #expect(seen.last?.objective == report.objective)
}
