/// The bundle's format: its version and the names of the files it holds.
///
/// Version 1 layout (all paths relative to the bundle directory; every .npy is little-endian,
/// C order):
/// - `manifest.json`, `metrics.json`, `attributions.json` (schemas in `schemas/`),
///   `attributions.csv`, `report.html`;
/// - `train_kernel.npy` float32 [N, N] or [L, N, N]; `test_kernel.npy` float32 [M, N] or [L, M, N];
/// - `surrogate_weights.npy` float64 [C, L·N]; `surrogate_bias.npy` float64 [C];
/// - `network_test_logits.npy` float32 [M, C]; `surrogate_test_logits.npy` float64 [M, C];
/// - `train_labels.npy` int64 [N]; optional `fit_targets.npy` int64 [N] (the network's
///   predictions, when the surrogate was fitted to them); optional `test_labels.npy` int64 [M];
/// - optional `train_inputs.npy` float32 [N, …] and `test_inputs.npy` float32 [M, …] (for the
///   report's pictures);
/// - optional `scores_METHOD.npy` float32 [M, N], a baseline method's scores (`Manifest.baselines`);
/// - optional `texts.json` (the samples' texts, for the report; `SampleTexts`).
public enum BundleFormat {
  /// Bumped on any incompatible change of the layout or of a schema.
  public static let version = 1
  /// The `format` field of every manifest.
  public static let name = "entk-attribution-bundle"

  public static let manifest = "manifest.json"
  public static let metrics = "metrics.json"
  public static let attributions = "attributions.json"
  public static let attributionsCSV = "attributions.csv"
  public static let report = "report.html"
  public static let trainKernel = "train_kernel.npy"
  public static let testKernel = "test_kernel.npy"
  public static let surrogateWeights = "surrogate_weights.npy"
  public static let surrogateBias = "surrogate_bias.npy"
  public static let networkTestLogits = "network_test_logits.npy"
  public static let surrogateTestLogits = "surrogate_test_logits.npy"
  public static let trainLabels = "train_labels.npy"
  public static let fitTargets = "fit_targets.npy"
  public static let testLabels = "test_labels.npy"
  public static let trainInputs = "train_inputs.npy"
  public static let testInputs = "test_inputs.npy"
  public static let texts = "texts.json"

  /// The file of a baseline method's scores: `scores_METHOD.npy`.
  public static func baselineScores(method: String) -> String { "scores_\(method).npy" }
}
