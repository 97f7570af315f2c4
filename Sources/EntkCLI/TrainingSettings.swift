import BackendLoader
import Foundation

/// How `entk train` and the retraining of `entk evaluate` train a model with a backend's `train`
/// call: the architecture opened with {"init_seed": seed}, then trained with these options.
struct TrainingSettings: Codable, Equatable {
  /// The architecture file, absolute.
  var arch: String
  var epochs: Int
  var batchSize: Int
  var learningRate: Double
  var optimizer: TrainingOptimizer
  /// Seed of the initialisation and of the shuffling order.
  var seed: UInt64

  /// The options of `open` that initialise the architecture.
  var openOptions: String { "{\"init_seed\":\(seed)}" }

  /// The options of the backend's `train` call.
  var trainOptions: String {
    "{\"epochs\":\(epochs),\"batch_size\":\(batchSize),\"learning_rate\":\(learningRate),\"optimizer\":\"\(optimizer.rawValue)\",\"seed\":\(seed)}"
  }

  /// Trains the architecture on `inputs` (float32, row-major) and `labels` with `backend`, and
  /// saves the model at `model`, written under a temporary name and renamed, so an interrupted
  /// training never leaves something that passes for a model.
  func trainAndSave(backend: String, inputs: [Float], labels: [Int64], to model: URL) throws {
    let network = try BackendLibrary.load(backend).open(model: arch, options: openOptions)
    try network.train(inputs: inputs, labels: labels, options: trainOptions) { _ in true }
    try Self.save(network, to: model)
  }

  /// Saves `network` at `model` with the backend's `save` call, under a temporary name beside it
  /// that replaces whatever was at `model` once the backend has written it.
  static func save(_ network: BackendModel, to model: URL) throws {
    let partial = model.deletingLastPathComponent().appendingPathComponent(
      model.lastPathComponent + ".partial-\(getpid())")
    defer { try? FileManager.default.removeItem(at: partial) }
    try network.save(to: partial.path)
    try? FileManager.default.removeItem(at: model)
    try FileManager.default.moveItem(at: partial, to: model)
  }

  /// The same settings with another seed.
  func seeded(_ seed: UInt64) -> TrainingSettings {
    var copy = self
    copy.seed = seed
    return copy
  }
}
