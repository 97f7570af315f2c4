import ArgumentParser
import Foundation

/// A user's retraining command, `--retrain-command TEMPLATE`, run through /bin/sh once per subset.
///
/// In the template {subset} becomes the subset's folder (holding `indices.npy`, `train_x.npy` and
/// `train_y.npy`), {model} the path the command must write the model to, and {seed} the subset's
/// seed, each quoted for the shell. The command's output goes to entk's stderr.
struct RetrainCommand {
  let template: String

  /// The shell command for one subset.
  func command(folder: URL, model: URL, seed: UInt64) -> String {
    template.replacingOccurrences(of: "{subset}", with: PlanCommand.shellQuoted(folder.path))
      .replacingOccurrences(of: "{model}", with: PlanCommand.shellQuoted(model.path))
      .replacingOccurrences(of: "{seed}", with: String(seed))
  }

  /// Runs the command for subset `subset` and waits for it.
  /// - Throws: `EvaluateError.retrainCommandFailed` when it cannot start or exits non-zero.
  func run(subset: Int, folder: URL, model: URL, seed: UInt64) throws {
    let text = command(folder: folder, model: model, seed: seed)
    printError("evaluate: $ \(text)")
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/sh")
    process.arguments = ["-c", text]
    process.standardOutput = FileHandle.standardError
    process.standardError = FileHandle.standardError
    do {
      try process.run()
    } catch {
      throw EvaluateError.retrainCommandFailed(subset: subset, command: text, status: -1)
    }
    process.waitUntilExit()
    guard process.terminationReason == .exit, process.terminationStatus == 0 else {
      throw EvaluateError.retrainCommandFailed(subset: subset, command: text, status: process.terminationStatus)
    }
  }
}

/// How an `entk evaluate` command that plans retrained models gets them: the backend's `train`
/// call on `--model` with the training options, or a `--retrain-command` template (subsets and
/// mislabel share it).
struct RetrainingOptions: ParsableArguments {
  @Option(help: "The model to train with the backend's train call, an architecture (as `entk train --model`).")
  var model: String?
  @OptionGroup var training: TrainingOptions
  @Option(
    name: .customLong("retrain-command"),
    help: "Instead of --model: a shell command template with {subset}, {model} and {seed} that trains the model.")
  var retrainCommand: String?

  /// Exactly one of --model and --retrain-command, and a template writes the model to {model}.
  func validate() throws {
    guard (model == nil) != (retrainCommand == nil) else {
      throw ValidationError("give either --model (train with the backend) or --retrain-command, exactly one")
    }
    if let retrainCommand, !retrainCommand.contains("{model}") {
      throw ValidationError("--retrain-command must contain {model}, the path the command writes the model to")
    }
  }

  /// The backend training settings, with --model.
  var settings: TrainingSettings? { model.map(training.settings(model:)) }
}
