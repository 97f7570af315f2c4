import Attribution
import Foundation

/// `attributions.json`: the explanations of the test points.
///
/// For each explained test point and every class, the surrogate logit split into bias, per-layer sums and the top-k proponents and opponents.
/// Schema: `schemas/attributions.schema.json`.
public struct AttributionsFile: Sendable, Codable, Equatable {
  public var formatVersion: Int = BundleFormat.version
  /// C.
  public var classCount: Int
  /// N.
  public var trainCount: Int
  /// M (test points in the kernel; `testPoints` may explain fewer).
  public var testCount: Int
  /// L (1 for a single kernel).
  public var layerCount: Int
  /// Layer names for per-layer kernels.
  public var layerNames: [String]?
  /// Largest number of proponents (and of opponents) listed per class.
  public var topK: Int
  public var testPoints: [TestPointAttribution]

  public init(
    classCount: Int, trainCount: Int, testCount: Int, layerCount: Int, layerNames: [String]?, topK: Int,
    testPoints: [TestPointAttribution]
  ) {
    self.classCount = classCount
    self.trainCount = trainCount
    self.testCount = testCount
    self.layerCount = layerCount
    self.layerNames = layerNames
    self.topK = topK
    self.testPoints = testPoints
  }

  /// The same attributions as CSV, one row per (test point, class, proponent or opponent):
  /// `test_index,test_label,network_prediction,surrogate_prediction,class,surrogate_logit,kind,rank,train_index,train_label,score`
  /// (rank from 1; an unknown label is an empty field).
  public func csv() -> String {
    var lines = [
      "test_index,test_label,network_prediction,surrogate_prediction,class,surrogate_logit,kind,rank,train_index,train_label,score"
    ]
    func field(_ value: Int?) -> String { value.map(String.init) ?? "" }
    for point in testPoints {
      let prefix =
        "\(point.testIndex),\(field(point.label)),\(field(point.networkPrediction)),\(point.surrogatePrediction)"
      for attribution in point.classes {
        for (kind, list) in [("proponent", attribution.proponents), ("opponent", attribution.opponents)] {
          for (rank, entry) in list.enumerated() {
            lines.append(
              "\(prefix),\(attribution.classIndex),\(attribution.logit),\(kind),\(rank + 1),\(entry.trainIndex),\(field(entry.trainLabel)),\(entry.score)"
            )
          }
        }
      }
    }
    return lines.joined(separator: "\n") + "\n"
  }
}
