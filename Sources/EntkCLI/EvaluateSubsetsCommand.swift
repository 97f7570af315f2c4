import ArgumentParser
import ArrayIO
import BackendLoader
import Evaluation
import Foundation
import Kernels
import Reporter

struct EvaluateSubsetsCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "subsets",
    abstract: "Plan models retrained on K random training subsets, for `entk evaluate lds`.",
    discussion: """
      Writes into --out: subsets.json (the data's SHA-256, the seeded subsets, how to train; \
      schemas/subsets.schema.json), a Makefile (one target per subset: `make -j4 -f DIR/Makefile`) \
      and slurm.sh (a job array, one task per subset). Models are trained either with the \
      backend's train call (--arch and the options of `entk train`, the same settings as the \
      original model; subset k uses seed --seed + k) or by --retrain-command, a shell template with \
      {subset} (a folder holding indices.npy, train_x.npy, train_y.npy), {model} (where to write \
      the model, which --backend then loads) and {seed}.
      """)

  @Option(help: "Backend that trains (with --arch) and loads every retrained model.") var backend: String
  @Option(help: "Backend-specific options for loading the models, as a JSON object.") var options: String?
  @Option(name: .customLong("train-x"), help: "Training inputs (.npy or .csv), [N, ...].") var trainX: String
  @Option(name: .customLong("train-y"), help: "Training labels, [N].") var trainY: String
  @Option(name: .customLong("test-x"), help: "Test inputs, [M, ...]: the points whose margins are recorded.")
  var testX: String
  @Option(name: .customLong("test-y"), help: "Test labels, [M]: margins are at these classes.") var testY: String
  @Option(name: .customLong("subsets"), help: "K, the number of subsets (at least 2).") var subsetCount = 50
  @Option(help: "α, the fraction of the training set in each subset (0 < α < 1).") var fraction = 0.5
  @Option(name: .customLong("subset-seed"), help: "Seed of the random subsets.") var subsetSeed: UInt64 = 0
  @Option(help: "Architecture to train with the backend's train call (as `entk train --arch`).") var arch: String?
  @Option(help: "With --arch: passes over the training subset.") var epochs = 10
  @Option(name: .customLong("batch-size"), help: "With --arch: samples per minibatch.") var batchSize = 32
  @Option(help: "With --arch: learning rate.") var lr = 0.001
  @Option(help: "With --arch: adam or sgd.") var optimizer = "adam"
  @Option(help: "With --arch: seed of subset 0 (subset k uses seed + k).") var seed = 0
  @Option(
    name: .customLong("retrain-command"),
    help: "Instead of --arch: a shell command template with {subset}, {model} and {seed} that trains one model.")
  var retrainCommand: String?
  @Option(help: "The entk executable the Makefile and slurm.sh run (default: this one).") var entk: String?
  @Option(help: "Output folder.") var out: String

  func validate() throws {
    guard subsetCount >= 2 else { throw ValidationError("--subsets must be at least 2 (a rank correlation needs two)") }
    guard fraction > 0, fraction < 1 else { throw ValidationError("--fraction must be strictly between 0 and 1") }
    guard (arch == nil) != (retrainCommand == nil) else {
      throw ValidationError("give either --arch (train with the backend) or --retrain-command, exactly one")
    }
    if let retrainCommand, !retrainCommand.contains("{model}") {
      throw ValidationError("--retrain-command must contain {model}, the path the command writes the model to")
    }
    if arch != nil {
      try TrainingSettings.check(
        epochs: epochs, batchSize: batchSize, learningRate: lr, optimizer: optimizer, seed: seed)
    }
  }

  func run() throws {
    let directory = try OutputPath.check(out)
    let trainInputs = try RetrainFolder.record(trainX)
    let trainLabels = try RetrainFolder.record(trainY)
    let testInputs = try RetrainFolder.record(testX)
    let testLabels = try RetrainFolder.record(testY)
    let n = trainInputs.shape.first ?? 0
    let m = testInputs.shape.first ?? 0
    guard n >= 2, trainLabels.shape == [n] else {
      throw TrainDataError.labelCount(path: trainY, shape: trainLabels.shape, samples: max(n, 2))
    }
    guard m >= 1, testLabels.shape == [m] else {
      throw TrainDataError.labelCount(path: testY, shape: testLabels.shape, samples: max(m, 1))
    }
    // The backend and the architecture are checked now, not when the first subset trains.
    if let arch {
      try RetrainFolder.checkArchitecture(
        backend: backend, arch: arch, files: [(trainX, trainInputs, n), (testX, testInputs, m)])
    } else {
      _ = try BackendLibrary.load(backend)
    }
    let description = RetrainFolder.Description(
      trainCount: n, testCount: m, fraction: fraction,
      subsetSize: RandomSubsets.size(trainCount: n, fraction: fraction), seed: subsetSeed,
      subsetCount: subsetCount, trainInputs: trainInputs, trainLabels: trainLabels,
      testInputs: testInputs, testLabels: testLabels, backend: backend, options: options,
      training: arch.map {
        TrainingSettings(
          arch: URL(fileURLWithPath: $0).standardizedFileURL.path, epochs: epochs, batchSize: batchSize,
          learningRate: lr, optimizer: optimizer, seed: seed)
      },
      retrainCommand: retrainCommand)
    let folder = try RetrainFolder.plan(description, in: directory, executable: entk)
    printError(
      "evaluate: \(subsetCount) subsets of \(description.subsetSize ?? 0) of \(n) training points in \(directory.path) "
        + "(\(folder.trainingHint))")
  }
}
