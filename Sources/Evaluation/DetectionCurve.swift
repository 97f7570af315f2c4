/// How well a ranking of training points finds the flagged ones, such as flipped labels.
///
/// The ROC AUC and the fraction found after inspecting the top-ranked points.
public struct DetectionCurve: Sendable, Codable, Equatable {
  /// The fraction of flagged points among the first ⌈f·N⌉ of the ranking.
  public struct Inspection: Sendable, Codable, Equatable {
    /// f, the share of the N points inspected.
    public var inspected: Double
    /// Flagged points among them, over all flagged points.
    public var found: Double
  }

  /// P(score of a flagged point > score of an unflagged one) + ½ P(equal), over all pairs (the
  /// Mann–Whitney U over n₊n₋); absent without both kinds of point.
  public var auc: Double?
  public var inspections: [Inspection]
  /// Points flagged, and all points.
  public var flaggedCount: Int
  public var count: Int

  /// - Parameters:
  ///   - scores: one per point; higher ranks first (ties to the smaller index).
  ///   - flagged: whether each point is one to find.
  public init(scores: [Double], flagged: [Bool], inspected fractions: [Double] = [0.05, 0.1, 0.2]) {
    precondition(scores.count == flagged.count, "one flag per score")
    let positives = scores.indices.filter { flagged[$0] }.map { scores[$0] }
    let negatives = scores.indices.filter { !flagged[$0] }.map { scores[$0] }.sorted()
    if positives.isEmpty || negatives.isEmpty {
      auc = nil
    } else {
      // For each positive, the negatives below it and those equal to it, by binary search.
      func count(_ predicate: (Double) -> Bool) -> Int {
        var (low, high) = (0, negatives.count)
        while low < high {
          let middle = (low + high) / 2
          if predicate(negatives[middle]) { low = middle + 1 } else { high = middle }
        }
        return low
      }
      var wins = 0.0
      for p in positives {
        let below = count { $0 < p }
        let notAbove = count { $0 <= p }
        wins += Double(below) + 0.5 * Double(notAbove - below)
      }
      auc = wins / (Double(positives.count) * Double(negatives.count))
    }
    let ranking = scores.indices.sorted { scores[$0] > scores[$1] || (scores[$0] == scores[$1] && $0 < $1) }
    let total = positives.count
    inspections = fractions.map { fraction in
      let top = min(scores.count, Int((fraction * Double(scores.count)).rounded(.up)))
      let found = ranking.prefix(top).filter { flagged[$0] }.count
      return Inspection(inspected: fraction, found: total > 0 ? Double(found) / Double(total) : 0)
    }
    flaggedCount = total
    count = scores.count
  }
}
