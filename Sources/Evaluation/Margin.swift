import Foundation

/// The margin of a prediction, the quantity linear datamodeling scores predict.
public enum Margin {
  /// f_y − log Σ_{c ≠ y} exp f_c for logits f (float64 log-sum-exp, shifted by the largest other
  /// logit): positive exactly when class y has the largest logit.
  public static func of(logits: [Double], label y: Int) -> Double {
    precondition(logits.indices.contains(y) && logits.count >= 2, "label must index one of at least two logits")
    let others = logits.indices.filter { $0 != y }.map { logits[$0] }
    let top = others.max() ?? 0
    let logSum = top + log(others.reduce(0) { $0 + exp($1 - top) })
    return logits[y] - logSum
  }
}
