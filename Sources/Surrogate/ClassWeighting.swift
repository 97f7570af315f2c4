/// How training points are weighted in the kGLM's loss.
public enum ClassWeighting: String, Sendable, Codable, CaseIterable {
  /// Every point has weight 1.
  case none
  /// Point i has weight n / (K · n_{y_i}), K the number of classes present in the targets and
  /// n_c the number of points of class c (scikit-learn's `class_weight="balanced"`); the weights
  /// sum to n, so the mean loss keeps its scale.
  case balanced

  /// The per-point weights (float64, [labels.count]).
  func weights(labels: [Int], classCount: Int) -> [Double] {
    switch self {
    case .none:
      return [Double](repeating: 1, count: labels.count)
    case .balanced:
      var counts = [Int](repeating: 0, count: classCount)
      for label in labels { counts[label] += 1 }
      let present = counts.filter { $0 > 0 }.count
      let n = Double(labels.count)
      return labels.map { n / (Double(present) * Double(counts[$0])) }
    }
  }
}
