import Faithfulness
import Surrogate

/// `metrics.json`: how the surrogate was fitted and how faithful it is.
///
/// Schema: `schemas/metrics.schema.json`.
public struct MetricsFile: Sendable, Codable, Equatable {
  public var formatVersion: Int = BundleFormat.version
  /// What the surrogate was fitted to: "labels" (ground truth) or "network-predictions".
  public var target: String
  public var settings: KGLMSettings
  public var fit: KGLMFitReport
  public var faithfulness: FaithfulnessReport
  /// The counterfactual checks of `entk evaluate`, once run on the bundle.
  public var evaluation: EvaluationMetrics?

  public init(target: String, settings: KGLMSettings, fit: KGLMFitReport, faithfulness: FaithfulnessReport) {
    self.target = target
    self.settings = settings
    self.fit = fit
    self.faithfulness = faithfulness
  }

  /// The numbers the manifest repeats.
  public var summary: Manifest.MetricsSummary {
    Manifest.MetricsSummary(
      referenceProbabilityTau: faithfulness.referenceProbability.kendallTau,
      pooledLogitTau: faithfulness.pooledLogits.kendallTau,
      pooledLogitPearson: faithfulness.pooledLogits.pearson, predictionAgreement: faithfulness.predictionAgreement,
      networkAccuracy: faithfulness.networkAccuracy, surrogateAccuracy: faithfulness.surrogateAccuracy,
      accuracyDifference: faithfulness.accuracyDifference, surrogateConverged: fit.converged)
  }
}
