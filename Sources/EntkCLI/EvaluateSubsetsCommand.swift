import ArgumentParser
import ArrayIO
import AttributionPipeline
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
      backend's train call (--model, the architecture, and the options of `entk train`, the same \
      settings as the original model; subset k uses seed --seed + k) or by --retrain-command, a shell template with \
      {subset} (a folder holding indices.npy, train_x.npy, train_y.npy), {model} (where to write \
      the model, which --backend then loads) and {seed}.
      """)

  @Option(help: "Backend that trains (with --model) and loads every retrained model.") var backend: String
  @Option(help: "Backend-specific options for loading the models, as a JSON object.") var options: String?
  @OptionGroup var data: LabelledDataOptions
  @Option(name: .customLong("subsets"), help: "K, the number of subsets (at least 2).") var subsetCount = 50
  @Option(help: "α, the fraction of the training set in each subset (0 < α < 1).") var fraction = 0.5
  @Option(name: .customLong("subset-seed"), help: "Seed of the random subsets.") var subsetSeed: UInt64 = 0
  @OptionGroup var retraining: RetrainingOptions
  @Option(help: "The entk executable the Makefile and slurm.sh run (default: this one).") var entk: String?
  @Option(
    help:
      "Output folder. An existing one planned with the same settings is planned again (retrained subsets are kept); one with other settings is refused."
  )
  var out: String

  func validate() throws {
    guard subsetCount >= 2 else { throw ValidationError("--subsets must be at least 2 (a rank correlation needs two)") }
    guard fraction > 0, fraction < 1 else { throw ValidationError("--fraction must be strictly between 0 and 1") }
    _ = try data.requiredTest()
  }

  func run() throws {
    let directory = try OutputPath.check(out)
    let (testX, testY) = try data.requiredTest()
    let (trainX, trainY) = (data.train, data.trainLabels)
    let trainInputs = try RetrainFolder.record(trainX)
    let trainLabels = try RetrainFolder.record(trainY)
    let testInputs = try RetrainFolder.record(testX)
    let testLabels = try RetrainFolder.record(testY)
    let n = trainInputs.shape.first ?? 0
    let m = testInputs.shape.first ?? 0
    try LabelFile(path: trainY).check(count: max(n, 2), classCount: nil)
    try LabelFile(path: testY).check(count: max(m, 1), classCount: nil)
    // The backend and the architecture are checked now, not when the first subset trains.
    if let model = retraining.model {
      try RetrainFolder.checkArchitecture(backend: backend, arch: model, samples: [trainX, testX])
    } else {
      _ = try BackendLibrary.load(backend)
    }
    let description = RetrainFolder.Description(
      trainCount: n, testCount: m, fraction: fraction,
      subsetSize: RandomSubsets.size(trainCount: n, fraction: fraction), seed: subsetSeed,
      subsetCount: subsetCount, trainInputs: trainInputs, trainLabels: trainLabels,
      testInputs: testInputs, testLabels: testLabels, backend: backend, options: options,
      training: retraining.settings, retrainCommand: retraining.retrainCommand)
    let folder = try RetrainFolder.plan(description, in: directory, executable: entk)
    printError(
      "evaluate: \(subsetCount) subsets of \(description.subsetSize ?? 0) of \(n) training points in \(directory.path) "
        + "(\(folder.trainingHint))")
  }
}
