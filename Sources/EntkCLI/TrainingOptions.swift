import ArgumentParser
import Foundation

/// The optimizer of a backend's `train` call.
enum TrainingOptimizer: String, Codable, CaseIterable, ExpressibleByArgument {
  case adam
  case sgd
}

/// The options of a backend's `train` call, shared by `entk train` and every `entk evaluate`
/// command that retrains (one name, one default, one help each).
struct TrainingOptions: ParsableArguments {
  @Option(help: "Passes over the training data.") var epochs = 10
  @Option(name: .customLong("batch-size"), help: "Samples per minibatch.") var batchSize = 32
  @Option(name: .customLong("learning-rate"), help: "Learning rate.") var learningRate = 0.001
  @Option(help: "Optimizer.") var optimizer = TrainingOptimizer.adam
  @Option(help: "Seed of the initialisation and of the shuffling order.") var seed: UInt64 = 0

  func validate() throws {
    guard epochs >= 1 else { throw ValidationError("--epochs must be at least 1") }
    guard batchSize >= 1 else { throw ValidationError("--batch-size must be at least 1") }
    guard learningRate > 0, learningRate.isFinite else {
      throw ValidationError("--learning-rate must be a positive number")
    }
  }

  /// The settings that train the architecture `model` (recorded by its absolute path).
  func settings(model: String) -> TrainingSettings {
    TrainingSettings(
      arch: URL(fileURLWithPath: model).standardizedFileURL.path, epochs: epochs, batchSize: batchSize,
      learningRate: learningRate, optimizer: optimizer, seed: seed)
  }
}

/// Samples and their labels, as `entk train` and the `entk evaluate` commands take them.
struct LabelledDataOptions: ParsableArguments {
  @Option(help: "Training samples (.npy, .csv or .npz), [N, ...input shape] or [N, input size].") var train: String
  @Option(name: .customLong("train-labels"), help: "Training labels (.npy or .csv), [N] integers in 0..<C.")
  var trainLabels: String
  @Option(help: "Test samples, [M, ...input shape].") var test: String?
  @Option(name: .customLong("test-labels"), help: "Test labels, [M] integers in 0..<C.") var testLabels: String?

  func validate() throws {
    guard (test == nil) == (testLabels == nil) else { throw ValidationError("--test and --test-labels go together") }
  }

  /// The test samples and labels of a command that needs them (evaluate measures margins on them).
  func requiredTest() throws -> (samples: String, labels: String) {
    guard let test, let testLabels else {
      throw ValidationError("give --test and --test-labels: the test points are what the evaluation measures")
    }
    return (test, testLabels)
  }
}
