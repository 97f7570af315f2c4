import Foundation
import Surrogate

/// How faithful a surrogate is to the network on a set of test points.
///
/// Correlations are nil (JSON null) where undefined: fewer than two points or a constant variable.
public struct FaithfulnessReport: Sendable, Codable, Equatable {
  /// Correlations between the network's and the surrogate's values.
  public struct Correlation: Sendable, Codable, Equatable {
    /// Kendall τ-b.
    public var kendallTau: Double?
    /// Pearson r.
    public var pearson: Double?
    /// Number of value pairs compared.
    public var count: Int
  }

  /// Number of test points M.
  public var testCount: Int
  /// Number of classes C.
  public var classCount: Int
  /// The paper's measure, correlating the reference class's softmax probability.
  ///
  /// Across test points, the probability under the network and under the surrogate. The reference class is class 1
  /// for C = 2, else the true label (`referenceClass` says which was used: "label", "class-1",
  /// or "network-prediction" when no test labels were given).
  public var referenceProbability: Correlation
  /// Which class `referenceProbability` compares: "label", "class-1" or "network-prediction".
  public var referenceClass: String
  /// Logits of class c across test points, for each c in 0..<C.
  public var perClassLogits: [Correlation]
  /// All M·C logits pooled.
  public var pooledLogits: Correlation
  /// Fraction of test points where the network's and the surrogate's predicted classes agree.
  public var predictionAgreement: Double
  /// Test accuracy of the network (nil without test labels).
  public var networkAccuracy: Double?
  /// Test accuracy of the surrogate (nil without test labels).
  public var surrogateAccuracy: Double?
  /// surrogateAccuracy − networkAccuracy (nil without test labels).
  public var accuracyDifference: Double?

  /// Measures faithfulness.
  /// - Parameters:
  ///   - networkLogits: the network's logits, row-major [M, C] (float32 or float64 values).
  ///   - surrogateLogits: the surrogate's logits, row-major [M, C], float64.
  ///   - labels: true class per test point, [M], or nil.
  public static func measure(networkLogits: [Double], surrogateLogits: [Double], classCount: Int, labels: [Int]?) throws
    -> FaithfulnessReport
  {
    guard classCount >= 1, networkLogits.count % classCount == 0 else {
      throw SurrogateError.logitsShape(
        name: "network logits", expected: [networkLogits.count / max(classCount, 1), classCount],
        actual: [networkLogits.count])
    }
    let m = networkLogits.count / classCount
    guard m >= 1 else {
      throw SurrogateError.logitsShape(name: "network logits", expected: [1, classCount], actual: [0])
    }
    guard surrogateLogits.count == networkLogits.count else {
      throw SurrogateError.logitsShape(
        name: "surrogate logits", expected: [m, classCount], actual: [surrogateLogits.count / classCount, classCount])
    }
    if let labels { try ClassLabels.validate(labels, count: m, classCount: classCount, name: "test labels") }
    let networkPredicted = ClassLabels.argmax(networkLogits, classCount: classCount)
    let surrogatePredicted = ClassLabels.argmax(surrogateLogits, classCount: classCount)

    let referenceClass: String
    let reference: [Int]
    if classCount == 2 {
      referenceClass = "class-1"
      reference = [Int](repeating: 1, count: m)
    } else if let labels {
      referenceClass = "label"
      reference = labels
    } else {
      referenceClass = "network-prediction"
      reference = networkPredicted
    }
    let networkProbability = (0..<m).map { softmax(networkLogits, row: $0, classCount: classCount)[reference[$0]] }
    let surrogateProbability = (0..<m).map { softmax(surrogateLogits, row: $0, classCount: classCount)[reference[$0]] }

    let perClass = (0..<classCount).map { c in
      correlation(
        (0..<m).map { networkLogits[$0 * classCount + c] }, (0..<m).map { surrogateLogits[$0 * classCount + c] })
    }
    let agreement = Double(zip(networkPredicted, surrogatePredicted).filter { $0 == $1 }.count) / Double(m)
    var networkAccuracy: Double?
    var surrogateAccuracy: Double?
    if let labels {
      networkAccuracy = Double(zip(networkPredicted, labels).filter { $0 == $1 }.count) / Double(m)
      surrogateAccuracy = Double(zip(surrogatePredicted, labels).filter { $0 == $1 }.count) / Double(m)
    }
    return FaithfulnessReport(
      testCount: m, classCount: classCount,
      referenceProbability: correlation(networkProbability, surrogateProbability), referenceClass: referenceClass,
      perClassLogits: perClass, pooledLogits: correlation(networkLogits, surrogateLogits),
      predictionAgreement: agreement, networkAccuracy: networkAccuracy, surrogateAccuracy: surrogateAccuracy,
      accuracyDifference: surrogateAccuracy.flatMap { s in networkAccuracy.map { s - $0 } })
  }

  private static func correlation(_ x: [Double], _ y: [Double]) -> Correlation {
    Correlation(kendallTau: KendallTau.tauB(x, y), pearson: PearsonCorrelation.r(x, y), count: x.count)
  }

  /// Softmax of one row of a row-major [rows, classCount] matrix, float64, max-shifted.
  static func softmax(_ logits: [Double], row: Int, classCount: Int) -> [Double] {
    let slice = logits[(row * classCount)..<((row + 1) * classCount)]
    let maximum = slice.max() ?? 0
    let exps = slice.map { exp($0 - maximum) }
    let sum = exps.reduce(0, +)
    return exps.map { $0 / sum }
  }
}
