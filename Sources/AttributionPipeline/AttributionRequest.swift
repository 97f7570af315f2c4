import Foundation
import Kernels
import Surrogate

/// What the surrogate is fitted to.
public enum FitTarget: String, Sendable, CaseIterable {
  /// The training labels (ground truth), as in the paper.
  case labels
  /// The network's predicted classes on the training points.
  case networkPredictions = "network-predictions"
}

/// Where an attribution's kernels come from.
public enum KernelInput: Sendable {
  /// Computed by the pipeline from the request's model(s) on its `train` and `test` samples, as
  /// `entk kernel` would, with `threads` backend models; an ensemble's kernels are averaged.
  case compute(settings: KernelSettings, threads: Int)
  /// Given: `entk kernel` folders or `.npy` files (train × train [N, N] or [L, N, N], test ×
  /// train [M, N] or [L, M, N]); `kind` is recorded for plain files (default "precomputed").
  case precomputed(train: String, test: String, kind: String?)
}

/// Everything an attribution bundle is made from: the kernels, the labels, the network's logits
/// (files, or computed with the backend and model), the samples and texts the report shows, and
/// how the surrogate is fitted.
public struct AttributionRequest: Sendable {
  public var kernels: KernelInput
  /// Training labels file (.npy or .csv, [N] integers in 0..<C).
  public var trainLabels: String
  /// Test labels file ([M]); needed for accuracies and the paper's τ.
  public var testLabels: String?
  /// The network's test logits file ([M, C]); computed with the model when nil.
  public var testLogits: String?
  /// The network's train logits file ([N, C]), for `FitTarget.networkPredictions`.
  public var trainLogits: String?
  /// Training samples as `DataSource` arguments (a file, or NAME=FILE per model input).
  public var train: [String] = []
  /// Test samples, as `train`.
  public var test: [String] = []
  /// Training texts, one UTF-8 line per training point, shown in the report instead of pictures.
  public var trainText: String?
  /// Test texts, one line per test point.
  public var testText: String?
  /// Backend name or library path (default: the one a kernel folder records).
  public var backend: String?
  /// Model files or folders (default: the one a kernel folder records); several form an ensemble,
  /// which only computed kernels can be.
  public var models: [String] = []
  /// Backend-specific options as a JSON object (default: those a kernel folder records).
  public var options: String?
  /// Baseline methods whose scores the bundle also holds; they need `train` and `test`.
  public var baselines: [LossGradientMethod] = []
  public var surrogate = KGLMSettings()
  public var target = FitTarget.labels
  /// Proponents and opponents listed per test point and class (at most N).
  public var topK = 10
  /// The projection seed recorded for precomputed `.npy` kernels (a folder records its own).
  public var seed: UInt64?
  /// The command line recorded in the manifest.
  public var commandLine: [String] = []

  public init(kernels: KernelInput, trainLabels: String) {
    self.kernels = kernels
    self.trainLabels = trainLabels
  }

  /// Refuses a request whose parts do not go together, naming what is missing or extra.
  /// - Throws: `AttributeError.invalidRequest`.
  public func check() throws {
    func refuse(_ reason: String) -> AttributeError { .invalidRequest(reason: reason) }
    switch kernels {
    case .compute(let settings, let threads):
      let missing = [
        ("a backend", backend != nil), ("a model", !models.isEmpty), ("training samples", !train.isEmpty),
        ("test samples", !test.isEmpty),
      ]
      .filter { !$0.1 }.map(\.0)
      guard missing.isEmpty else {
        throw refuse(
          "computing the kernels with the model on the data also needs \(missing.joined(separator: ", "))")
      }
      guard settings.kind != .entk else {
        throw refuse(
          "kind entk: the full eNTK's C×C blocks need a block kernel machine; use trntk, pntk, a projected kind, em or layers"
        )
      }
      guard threads >= 1 else { throw refuse("threads must be at least 1") }
    case .precomputed:
      guard models.count <= 1 else {
        throw refuse(
          "\(models.count) models given, but precomputed kernels belong to one model: compute the kernels so every model's are averaged"
        )
      }
    }
    if !baselines.isEmpty, train.isEmpty || test.isEmpty {
      throw refuse("baselines compute loss gradients of the inputs: they need the train and test samples")
    }
    guard topK >= 1 else { throw refuse("top-k must be at least 1") }
  }
}
