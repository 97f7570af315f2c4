import ArrayIO
import EntkTestSupport
import Faithfulness
import Foundation
import Surrogate
import Testing

@Test func accuracyAgreementAndReferenceClassOnAHandWorkedCase() throws {
  // 4 points, 3 classes. Network predicts [0, 1, 2, 2]; surrogate predicts [0, 1, 1, 2].
  let network: [Double] = [3, 0, 0, 0, 3, 0, 0, 0, 3, 1, 0, 2]
  let surrogate: [Double] = [2, 1, 0, 0, 2, 1, 0, 2, 1, 0, 0, 1]
  let labels = [0, 1, 2, 0]
  let report = try FaithfulnessReport.measure(
    networkLogits: network, surrogateLogits: surrogate, classCount: 3, labels: labels)
  #expect(report.predictionAgreement == 0.75)
  #expect(report.networkAccuracy == 0.75)
  #expect(report.surrogateAccuracy == 0.5)
  #expect(report.accuracyDifference == -0.25)
  #expect(report.referenceClass == "label")
  #expect(report.perClassLogits.count == 3)
  #expect(report.pooledLogits.count == 12)

  let unlabelled = try FaithfulnessReport.measure(
    networkLogits: network, surrogateLogits: surrogate, classCount: 3, labels: nil)
  #expect(unlabelled.referenceClass == "network-prediction")
  #expect(unlabelled.networkAccuracy == nil && unlabelled.accuracyDifference == nil)

  let binary = try FaithfulnessReport.measure(
    networkLogits: [1, 0, 0, 1, 2, 2], surrogateLogits: [1, 0, 0, 2, 1, 3], classCount: 2, labels: [0, 1, 1])
  #expect(binary.referenceClass == "class-1")

  #expect(throws: SurrogateError.labelOutOfRange(name: "test labels", index: 3, label: 3, classCount: 3)) {
    try FaithfulnessReport.measure(
      networkLogits: network, surrogateLogits: surrogate, classCount: 3, labels: [0, 1, 2, 3])
  }
  #expect(throws: SurrogateError.self) {
    try FaithfulnessReport.measure(
      networkLogits: network, surrogateLogits: Array(surrogate.dropLast(3)), classCount: 3, labels: nil)
  }
}

@Test func correlationsMatchScipyOnSoftmaxProbabilitiesAndLogits() throws {
  var state: UInt64 = 99
  func normal() -> Double {
    state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
    let u = (Double(state >> 11) + 0.5) / Double(1 << 53)
    state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
    let v = Double(state >> 11) / Double(1 << 53)
    return (-2 * log(u)).squareRoot() * cos(2 * Double.pi * v)
  }
  let m = 200
  let c = 5
  let network = (0..<(m * c)).map { _ in 2 * normal() }
  let surrogate = network.map { $0 + normal() }
  let labels = (0..<m).map { $0 % c }
  let report = try FaithfulnessReport.measure(
    networkLogits: network, surrogateLogits: surrogate, classCount: c, labels: labels)

  let directory = try TestEnvironment.temporaryDirectory()
  defer { try? FileManager.default.removeItem(at: directory) }
  try NPYFile.write(NPYArray(float64: network, shape: [m, c]), to: directory.appendingPathComponent("n.npy"))
  try NPYFile.write(NPYArray(float64: surrogate, shape: [m, c]), to: directory.appendingPathComponent("s.npy"))
  try NPYFile.write(
    NPYArray(int64: labels.map { Int64($0) }, shape: [m]), to: directory.appendingPathComponent("y.npy"))
  let output = try runPython(
    """
    import sys, json, numpy as np
    from scipy.stats import kendalltau, pearsonr
    from scipy.special import softmax
    d = sys.argv[1]
    n = np.load(d + "/n.npy"); s = np.load(d + "/s.npy"); y = np.load(d + "/y.npy")
    r = np.arange(len(y))
    pn = softmax(n, axis=1)[r, y]; ps = softmax(s, axis=1)[r, y]
    out = {"probTau": kendalltau(pn, ps).statistic, "probR": pearsonr(pn, ps).statistic,
           "pooledTau": kendalltau(n.ravel(), s.ravel()).statistic,
           "classTau": [kendalltau(n[:, k], s[:, k]).statistic for k in range(n.shape[1])],
           "classR": [pearsonr(n[:, k], s[:, k]).statistic for k in range(n.shape[1])]}
    print(json.dumps(out))
    """, [directory.path], in: directory)
  struct Expected: Decodable {
    var probTau: Double
    var probR: Double
    var pooledTau: Double
    var classTau: [Double]
    var classR: [Double]
  }
  let expected = try JSONDecoder().decode(Expected.self, from: Data(output.utf8))
  #expect(abs(try #require(report.referenceProbability.kendallTau) - expected.probTau) < 1e-12)
  #expect(abs(try #require(report.referenceProbability.pearson) - expected.probR) < 1e-12)
  #expect(abs(try #require(report.pooledLogits.kendallTau) - expected.pooledTau) < 1e-12)
  for k in 0..<c {
    #expect(abs(try #require(report.perClassLogits[k].kendallTau) - expected.classTau[k]) < 1e-12)
    #expect(abs(try #require(report.perClassLogits[k].pearson) - expected.classR[k]) < 1e-12)
  }
}
