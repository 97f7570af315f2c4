/// `manifest.json`: what a bundle is, how it was made, and a checksum of every other file.
///
/// Schema: `schemas/manifest.schema.json`.
public struct Manifest: Sendable, Codable, Equatable {
  /// The model the bundle explains.
  public struct ModelRecord: Sendable, Codable, Equatable {
    /// Backend name, when the kernels were computed through a backend.
    public var backend: String?
    /// Path of the backend library.
    public var backendPath: String?
    /// Model file or folder as given.
    public var path: String
    /// SHA-256 of the model file (absent for a folder).
    public var sha256: String?

    public init(backend: String?, backendPath: String?, path: String, sha256: String?) {
      self.backend = backend
      self.backendPath = backendPath
      self.path = path
      self.sha256 = sha256
    }
  }

  /// One input file the bundle was made from.
  public struct DataRecord: Sendable, Codable, Equatable {
    /// What the file held: "train-inputs", "train-labels", "train-kernel", "test-logits", and so on.
    public var role: String
    /// Path as given on the command line.
    public var path: String
    public var sha256: String
    /// The array's shape.
    public var shape: [Int]
    /// For inputs of a model with several (a text model's `input_ids`): the model input the array
    /// feeds; absent for a one-input model's file.
    public var input: String?

    public init(role: String, path: String, sha256: String, shape: [Int], input: String? = nil) {
      self.role = role
      self.path = path
      self.sha256 = sha256
      self.shape = shape
      self.input = input
    }
  }

  /// How the kernels were made.
  public struct KernelRecord: Sendable, Codable, Equatable {
    /// trntk, pntk, proj-trntk, proj-pntk, em, entk, layers, or "precomputed" when unknown.
    public var kind: String
    /// Number of kernels (1, or L for per-layer kernels).
    public var layerCount: Int
    /// Names of the layers (parameter groups) for per-layer kernels.
    public var layerNames: [String]?
    /// N.
    public var trainCount: Int
    /// M.
    public var testCount: Int
    /// Further settings as given (normalisation, projection dimension, …).
    public var settings: [String: String]

    public init(
      kind: String, layerCount: Int, layerNames: [String]?, trainCount: Int, testCount: Int, settings: [String: String]
    ) {
      self.kind = kind
      self.layerCount = layerCount
      self.layerNames = layerNames
      self.trainCount = trainCount
      self.testCount = testCount
      self.settings = settings
    }
  }

  /// A baseline attribution method whose scores the bundle holds beside the surrogate's.
  public struct BaselineRecord: Sendable, Codable, Equatable {
    /// `grad-dot` or `grad-cos`.
    public var method: String
    /// The scores' file, `scores_METHOD.npy`: float32 [M, N].
    public var file: String
    /// The class each test point's scores are for: "label" or "network-prediction".
    public var referenceClass: String

    public init(method: String, file: String, referenceClass: String) {
      self.method = method
      self.file = file
      self.referenceClass = referenceClass
    }
  }

  /// The headline numbers, copied from `metrics.json`.
  public struct MetricsSummary: Sendable, Codable, Equatable {
    /// Kendall τ-b of the reference-class softmax probability (the paper's measure).
    public var referenceProbabilityTau: Double?
    /// Kendall τ-b over all logits.
    public var pooledLogitTau: Double?
    /// Pearson r over all logits.
    public var pooledLogitPearson: Double?
    public var predictionAgreement: Double
    public var networkAccuracy: Double?
    public var surrogateAccuracy: Double?
    public var accuracyDifference: Double?
    /// Whether the kGLM fit reached its gradient tolerance.
    public var surrogateConverged: Bool

    public init(
      referenceProbabilityTau: Double?, pooledLogitTau: Double?, pooledLogitPearson: Double?,
      predictionAgreement: Double,
      networkAccuracy: Double?, surrogateAccuracy: Double?, accuracyDifference: Double?, surrogateConverged: Bool
    ) {
      self.referenceProbabilityTau = referenceProbabilityTau
      self.pooledLogitTau = pooledLogitTau
      self.pooledLogitPearson = pooledLogitPearson
      self.predictionAgreement = predictionAgreement
      self.networkAccuracy = networkAccuracy
      self.surrogateAccuracy = surrogateAccuracy
      self.accuracyDifference = accuracyDifference
      self.surrogateConverged = surrogateConverged
    }
  }

  /// Always `BundleFormat.name`.
  public var format: String = BundleFormat.name
  /// `BundleFormat.version` of the writer.
  public var formatVersion: Int = BundleFormat.version
  /// Version of entk that wrote the bundle.
  public var entkVersion: String
  /// When the bundle was written, ISO 8601 UTC.
  public var createdAt: String
  /// The command line that made the bundle, one argument per element.
  public var commandLine: [String]
  /// The model the bundle explains (the first of an ensemble).
  public var model: ModelRecord?
  /// Every model of the bundle, in the order given: one, or the members of an ensemble whose
  /// kernels and logits were averaged.
  public var models: [ModelRecord]?
  public var data: [DataRecord]
  public var kernel: KernelRecord
  /// Seed of random projections, when one was used.
  public var seed: UInt64?
  public var metrics: MetricsSummary
  /// Baseline methods computed on the same model(s) and data, when asked for.
  public var baselines: [BaselineRecord]?
  /// Every file of the bundle but the manifest itself.
  public var files: [BundleFileEntry]

  public init(
    entkVersion: String, createdAt: String, commandLine: [String], model: ModelRecord?, models: [ModelRecord]? = nil,
    data: [DataRecord],
    kernel: KernelRecord, seed: UInt64?, metrics: MetricsSummary, files: [BundleFileEntry] = []
  ) {
    self.entkVersion = entkVersion
    self.createdAt = createdAt
    self.commandLine = commandLine
    self.model = model
    self.models = models
    self.data = data
    self.kernel = kernel
    self.seed = seed
    self.metrics = metrics
    self.files = files
  }
}
