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
  @Option(
    help:
      "The model to train with the backend's train call, an architecture (as `entk train --model`); subset k uses --seed + k."
  )
  var model: String?
  @OptionGroup var training: TrainingOptions
  @Option(
    name: .customLong("retrain-command"),
    help: "Instead of --model: a shell command template with {subset}, {model} and {seed} that trains one model.")
  var retrainCommand: String?
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
    guard (model == nil) != (retrainCommand == nil) else {
      throw ValidationError("give either --model (train with the backend) or --retrain-command, exactly one")
    }
    if let retrainCommand, !retrainCommand.contains("{model}") {
      throw ValidationError("--retrain-command must contain {model}, the path the command writes the model to")
    }
  }

  func run() throws {
    let directory = try OutputPath.check(out)
    func record(_ path: String) throws -> RetrainFolder.FileRecord {
      let url = URL(fileURLWithPath: path).standardizedFileURL
      let array = try ArrayFile.read(url)
      return RetrainFolder.FileRecord(path: url.path, sha256: try SHA256.hex(fileAt: url), shape: array.shape)
    }
    let (testX, testY) = try data.requiredTest()
    let (trainX, trainY) = (data.train, data.trainLabels)
    let trainInputs = try record(trainX)
    let trainLabels = try record(trainY)
    let testInputs = try record(testX)
    let testLabels = try record(testY)
    let n = trainInputs.shape.first ?? 0
    let m = testInputs.shape.first ?? 0
    try LabelFile(path: trainY).check(count: max(n, 2), classCount: nil)
    try LabelFile(path: testY).check(count: max(m, 1), classCount: nil)
    // The backend and the architecture are checked now, not when the first subset trains.
    let library = try BackendLibrary.load(backend)
    if let model {
      let description = try library.open(model: model, options: "{\"init_seed\":0}").description
      let sample = description.inputSize
      guard let input = description.singleFloatInput else {
        throw BackendCallError.notSingleFloatInput(call: "train", inputs: description.inputSummary)
      }
      for (path, record, count) in [(trainX, trainInputs, n), (testX, testInputs, m)]
      where record.shape.reduce(1, *) != count * sample {
        throw SampleDataError.sampleShape(path: path, input: input, shape: record.shape)
      }
    }
    let description = RetrainFolder.Description(
      trainCount: n, testCount: m, fraction: fraction,
      subsetSize: RandomSubsets.size(trainCount: n, fraction: fraction),
      subsetCount: subsetCount, seed: subsetSeed, trainInputs: trainInputs, trainLabels: trainLabels,
      testInputs: testInputs, testLabels: testLabels, backend: backend, options: options,
      training: model.map(training.settings(model:)),
      retrainCommand: retrainCommand)
    if let existing = try? RetrainFolder.open(directory) {
      guard existing.description == description else {
        throw EvaluateError.settingsMismatch(
          path: directory.path, field: Self.differingField(existing.description, description))
      }
    }
    let folder = RetrainFolder(url: directory, description: description)
    let executable =
      entk ?? Bundle.main.executablePath ?? URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL.path
    try FileManager.default.createDirectory(
      at: directory.appendingPathComponent("slurm"), withIntermediateDirectories: true)
    try Data(makefile(folder, executable: executable).utf8)
      .write(to: directory.appendingPathComponent("Makefile"), options: .atomic)
    try Data(slurmScript(folder, executable: executable).utf8)
      .write(to: directory.appendingPathComponent("slurm.sh"), options: .atomic)
    _ = chmod(directory.appendingPathComponent("slurm.sh").path, 0o755)
    // Last, so a subsets.json is only ever beside a complete Makefile and slurm.sh.
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    try encoder.encode(description).write(
      to: directory.appendingPathComponent(RetrainFolder.descriptionName), options: .atomic)
    printError(
      "evaluate: \(subsetCount) subsets of \(description.subsetSize) of \(n) training points in \(directory.path) "
        + "(entk evaluate retrain \(directory.path), make -j N -f \(directory.path)/Makefile, or sbatch \(directory.path)/slurm.sh)"
    )
  }

  /// The first field of `subsets.json` in which two plans differ.
  static func differingField(_ a: RetrainFolder.Description, _ b: RetrainFolder.Description) -> String {
    let fields: [(String, Bool)] = [
      ("training data", a.trainInputs == b.trainInputs && a.trainLabels == b.trainLabels),
      ("test data", a.testInputs == b.testInputs && a.testLabels == b.testLabels),
      ("subset count", a.subsetCount == b.subsetCount), ("fraction", a.fraction == b.fraction),
      ("subset seed", a.seed == b.seed), ("backend", a.backend == b.backend && a.options == b.options),
      ("training", a.training == b.training && a.retrainCommand == b.retrainCommand),
    ]
    return fields.first { !$0.1 }?.0 ?? "format"
  }

  private func makefile(_ folder: RetrainFolder, executable: String) -> String {
    func make(_ word: String) -> String { PlanCommand.shellQuoted(word).replacingOccurrences(of: "$", with: "$$") }
    let targets = (0..<folder.description.subsetCount).map {
      "  $(DIR)/\(folder.folder($0).lastPathComponent)/done.json"
    }
    return """
      # Generated by `entk evaluate subsets`: one target per retrained subset in \(folder.url.path).
      # `make -j N -f \(folder.url.path)/Makefile` trains N subsets at a time; a subset's target is
      # its done.json, written last, so after an interruption only unfinished subsets are retrained.

      ENTK ?= \(make(executable))
      DIR := \(make(folder.url.path))

      DONE := \\
      \(targets.joined(separator: " \\\n"))

      .PHONY: all
      all: $(DONE)

      $(DIR)/subset-%/done.json:
      \t$(ENTK) evaluate retrain $(DIR) --subset $*

      """
  }

  private func slurmScript(_ folder: RetrainFolder, executable: String) -> String {
    """
    #!/bin/bash
    #SBATCH --job-name=entk-retrain
    #SBATCH --array=0-\(folder.description.subsetCount - 1)
    #SBATCH --output=\(folder.url.path)/slurm/subset-%a.out
    # Generated by `entk evaluate subsets`: task k of the array retrains subset k of
    # \(folder.url.path) (finished subsets are skipped, so resubmitting is safe).
    set -euo pipefail
    exec \(PlanCommand.shellQuoted(executable)) evaluate retrain \(PlanCommand.shellQuoted(folder.url.path)) --subset "$SLURM_ARRAY_TASK_ID"

    """
  }
}
