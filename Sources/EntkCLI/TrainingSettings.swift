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

  /// The options of `open` that initialise the architecture.
  var openOptions: String { "{\"init_seed\":\(seed)}" }

  /// The options of the backend's `train` call.
  var trainOptions: String {
    "{\"epochs\":\(epochs),\"batch_size\":\(batchSize),\"learning_rate\":\(learningRate),\"optimizer\":\"\(optimizer)\",\"seed\":\(seed)}"
  }

  /// The same settings with another seed.
  func seeded(_ seed: Int) -> TrainingSettings {
    var copy = self
    copy.seed = seed
    return copy
  }
}
