import Surrogate

/// Splits a kGLM's logits into per-training-point contributions W[c, i] · k(x, x_i).
public struct Attributor: Sendable {
  public let model: KGLM
  /// Label per training point ([N]), copied into contributions; nil when unknown.
  public let trainLabels: [Int]?

  public init(model: KGLM, trainLabels: [Int]?) throws {
    if let trainLabels {
      try ClassLabels.validate(trainLabels, count: model.trainCount, classCount: model.classCount, name: "train labels")
    }
    self.model = model
    self.trainLabels = trainLabels
  }

  /// Contributions of every training point and layer to every class at test row `row`.
  ///
  /// float64, row-major [classCount, layerCount · trainCount], entry (c, l·N + i) =
  /// W[c, l·N + i] · k_l(x_row, x_i). Row c sums, plus b_c, to the surrogate's logit c.
  public func contributions(_ rows: KernelRows, row: Int) throws -> [Double] {
    try model.checkLayout(rows)
    precondition(row >= 0 && row < rows.count, "row out of range")
    let width = model.width
    var out = [Double](repeating: 0, count: model.classCount * width)
    rows.values.withUnsafeBufferPointer { k in
      model.weights.withUnsafeBufferPointer { w in
        for c in 0..<model.classCount {
          for j in 0..<width { out[c * width + j] = w[c * width + j] * Double(k[row * width + j]) }
        }
      }
    }
    return out
  }

  /// The explanation of test row `row`: for each class, its logit, the per-layer sums and the
  /// top-k proponents and opponents (all of them when `topK` is at least N).
  /// - Parameters:
  ///   - networkLogits: the network's logits for this test point ([classCount]), or nil.
  ///   - label: the test point's true label, or nil.
  public func explain(_ rows: KernelRows, row: Int, topK: Int, networkLogits: [Double]?, label: Int?) throws
    -> TestPointAttribution
  {
    let all = try contributions(rows, row: row)
    let n = model.trainCount
    let layers = model.layerCount
    let width = model.width
    var classes: [ClassAttribution] = []
    for c in 0..<model.classCount {
      var scores = [Double](repeating: 0, count: n)
      var layerSums = [Double](repeating: 0, count: layers)
      for l in 0..<layers {
        var sum = 0.0
        for i in 0..<n {
          let value = all[c * width + l * n + i]
          scores[i] += value
          sum += value
        }
        layerSums[l] = sum
      }
      let total = layerSums.reduce(0, +)
      let contribution = { (i: Int) -> Contribution in
        Contribution(
          trainIndex: i, score: scores[i], trainLabel: trainLabels?[i],
          layerScores: layers > 1 ? (0..<layers).map { all[c * width + $0 * n + i] } : nil)
      }
      let proponents = Self.extremes(scores, count: topK, by: >).filter { scores[$0] > 0 }.map(contribution)
      let opponents = Self.extremes(scores, count: topK, by: <).filter { scores[$0] < 0 }.map(contribution)
      classes.append(
        ClassAttribution(
          classIndex: c, logit: model.bias[c] + total, bias: model.bias[c], contributionSum: total,
          layerContributions: layerSums, proponents: proponents, opponents: opponents))
    }
    let surrogateLogits = classes.map(\.logit)
    return TestPointAttribution(
      testIndex: row, label: label,
      networkPrediction: networkLogits.map { ClassLabels.argmax($0, classCount: model.classCount)[0] },
      surrogatePrediction: ClassLabels.argmax(surrogateLogits, classCount: model.classCount)[0], classes: classes)
  }

  /// The indices of the `count` values that come first under `precedes`, in that order.
  ///
  /// `>` gives the largest, `<` the smallest; ties go to the smaller index, so explanations are
  /// reproducible. One pass with a sorted buffer of `count` entries: O(n · count), not a full
  /// sort per class.
  static func extremes(_ values: [Double], count requested: Int, by precedes: (Double, Double) -> Bool) -> [Int] {
    // More than every value is every value; bounding it keeps `count + 1` below overflow.
    let count = max(0, min(requested, values.count))
    var best: [Int] = []
    best.reserveCapacity(count + 1)
    for i in values.indices {
      if best.count == count, let last = best.last, !precedes(values[i], values[last]) { continue }
      var position = best.count
      while position > 0 && precedes(values[i], values[best[position - 1]]) { position -= 1 }
      best.insert(i, at: position)
      if best.count > count { best.removeLast() }
    }
    return best
  }
}
