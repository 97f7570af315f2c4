import Reporter

/// The metrics as a few aligned lines for the terminal.
enum MetricsText {
  static func lines(_ metrics: MetricsFile, kind: String) -> [String] {
    let f = metrics.faithfulness
    func number(_ value: Double?) -> String { value.map { String(format: "%.4f", $0) } ?? "–" }
    func percent(_ value: Double?) -> String { value.map { String(format: "%.2f%%", 100 * $0) } ?? "–" }
    return [
      "kernel                   \(kind)",
      "surrogate fit            \(metrics.fit.converged ? "converged" : "NOT converged (\(metrics.fit.stopReason))") in \(metrics.fit.iterations) iterations",
      "tau (\(f.referenceClass) probability)  \(number(f.referenceProbability.kendallTau))",
      "tau (pooled logits)      \(number(f.pooledLogits.kendallTau))",
      "pearson (pooled logits)  \(number(f.pooledLogits.pearson))",
      "network accuracy         \(percent(f.networkAccuracy))",
      "surrogate accuracy       \(percent(f.surrogateAccuracy))",
      "prediction agreement     \(percent(f.predictionAgreement))",
    ]
  }
}
