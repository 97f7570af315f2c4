import ArgumentParser
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
  var optimizer: String
  /// Seed of the initialisation and of the shuffling order.
  var seed: Int

  /// Checks the training options as the command line gives them, naming the option at fault.
  static func check(epochs: Int, batchSize: Int, learningRate: Double, optimizer: String, seed: Int) throws {
    guard epochs >= 1 else { throw ValidationError("--epochs must be at least 1") }
    guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1") }
    guard learningRate > 0, learningRate.isFinite else { throw ValidationError("--lr must be a positive number") }
    guard ["adam", "sgd"].contains(optimizer) else { throw ValidationError("--optimizer must be adam or sgd") }
    guard seed >= 0 else { throw ValidationError("--seed must be >= 0") }
  }

  /// The options of `open` that initialise the architecture.
  var openOptions: String { "{\"init_seed\":\(seed)}" }

  /// The options of the backend's `train` call.
  var trainOptions: String {
    "{\"epochs\":\(epochs),\"batch_size\":\(batchSize),\"learning_rate\":\(learningRate),\"optimizer\":\"\(optimizer)\",\"seed\":\(seed)}"
  }

  /// Trains the architecture on `inputs` (float32, row-major) and `labels` with `backend`, and
  /// saves the model at `model`, written under a temporary name and renamed, so an interrupted
  /// training never leaves something that passes for a model.
  func trainAndSave(backend: String, inputs: [Float], labels: [Int64], to model: URL) throws {
    let network = try BackendLibrary.load(backend).open(model: arch, options: openOptions)
    let partial = model.deletingLastPathComponent().appendingPathComponent(
      model.lastPathComponent + ".partial-\(getpid())")
    defer { try? FileManager.default.removeItem(at: partial) }
    try network.train(inputs: inputs, labels: labels, options: trainOptions) { _ in true }
    try network.save(to: partial.path)
    try? FileManager.default.removeItem(at: model)
    try FileManager.default.moveItem(at: partial, to: model)
  }

  /// The same settings with another seed.
  func seeded(_ seed: Int) -> TrainingSettings {
    var copy = self
    copy.seed = seed
    return copy
  }
}
