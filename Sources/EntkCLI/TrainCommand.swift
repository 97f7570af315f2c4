import ArgumentParser
import AttributionPipeline
import BackendLoader
import Foundation
import Kernels
import Surrogate

struct TrainCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "train",
    abstract: "Train a model from an architecture with a backend's train call, and save it.",
    discussion: """
      Opens the architecture with the backend and options {"init_seed": SEED}, trains it with \
      softmax cross-entropy through the backend's optional `train` call (options epochs, \
      batch_size, learning_rate, optimizer, seed), and writes the trained model to --out with \
      the backend's `save` call. Progress (epoch, loss, train and test accuracy) goes to stderr; \
      the final accuracies to stdout, or a JSON summary with --json. Works with any backend that \
      implements train and save (e.g. swiftnet).
      """)

  @Option(help: "Backend name (as in libentk-backend-NAME.so) or path to a backend library.")
  var backend: String
  @Option(
    help:
      "The model to train: an architecture the backend opens with {\"init_seed\": SEED} (for swiftnet a JSON file, see schemas/swiftnet-model.schema.json)."
  )
  var model: String
  @OptionGroup var data: LabelledDataOptions
  @OptionGroup var training: TrainingOptions
  @Option(help: "Folder to write the trained model to (an existing one is refused unless --force).") var out: String
  @Flag(help: "Replace an existing --out.") var force = false
  @Flag(help: "Print a JSON summary on stdout.") var json = false

  struct Epoch: Encodable {
    var epoch: Int
    var loss: Double
    var trainAccuracy: Double
    var testAccuracy: Double?
  }

  struct Summary: Encodable {
    var backend: String
    var arch: String
    var out: String
    var trainingOptions: String
    var epochs: [Epoch]
    var trainAccuracy: Double
    var testAccuracy: Double?
  }

  func run() throws {
    let outURL = try OutputPath.check(out, mayBeFile: true)
    if !force, FileManager.default.fileExists(atPath: outURL.path) {
      throw OutputPathError.exists(path: outURL.path)
    }
    let settings = training.settings(model: model)
    let library = try BackendLibrary.load(backend)
    let model = try library.open(model: self.model, options: settings.openOptions)
    let description = model.description
    let train = try LabelledData(inputs: data.train, labels: data.trainLabels, description: description)
    let test = try data.test.flatMap { x in
      try data.testLabels.map { try LabelledData(inputs: x, labels: $0, description: description) }
    }

    let options = settings.trainOptions
    var history: [Epoch] = []
    var failure: Error?
    try model.train(train.inputs.batch, labels: train.labels, options: options) { event in
      do {
        var epoch = try TrainingEvent.read(event)
        epoch.testAccuracy = try test.map { try $0.accuracy(of: model) }
        history.append(epoch)
        let testText = epoch.testAccuracy.map { String(format: "  test acc %6.2f%%", 100 * $0) } ?? ""
        printError(
          String(
            format: "epoch %\(String(training.epochs).count)d/%d  loss %.4f  train acc %6.2f%%", epoch.epoch,
            training.epochs, epoch.loss,
            100 * epoch.trainAccuracy) + testText)
        return true
      } catch {
        failure = error
        return false
      }
    }
    if let failure { throw failure }
    try TrainingSettings.save(model, to: outURL)

    let trainAccuracy = try train.accuracy(of: model)
    let testAccuracy = try test.map { try $0.accuracy(of: model) }
    if json {
      try printJSON(
        Summary(
          backend: library.name, arch: self.model, out: out, trainingOptions: options, epochs: history,
          trainAccuracy: trainAccuracy, testAccuracy: testAccuracy))
      return
    }
    print(String(format: "train accuracy %.2f%% (%d samples)", 100 * trainAccuracy, train.labels.count))
    if let testAccuracy, let test {
      print(String(format: "test accuracy %.2f%% (%d samples)", 100 * testAccuracy, test.labels.count))
    }
    print("saved \(out)")
  }
}

/// One epoch's progress event from a backend: {"epoch":e,"loss":L,"accuracy":A,...}.
private struct TrainingEvent {
  static func read(_ json: String) throws -> TrainCommand.Epoch {
    guard let object = try? JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any],
      let epoch = (object["epoch"] as? NSNumber)?.intValue, let loss = (object["loss"] as? NSNumber)?.doubleValue,
      let accuracy = (object["accuracy"] as? NSNumber)?.doubleValue
    else { throw TrainDataError.badProgressEvent(json) }
    return TrainCommand.Epoch(epoch: epoch, loss: loss, trainAccuracy: accuracy, testAccuracy: nil)
  }
}

/// Inputs and integer labels read from files and checked against the model.
private struct LabelledData {
  let inputs: SampleSet
  let labels: [Int64]

  init(inputs inputPath: String, labels labelPath: String, description: ModelDescription) throws {
    inputs = try SampleSet.read(.file(URL(fileURLWithPath: inputPath)), inputs: description.inputs)
    labels = try LabelFile(path: labelPath, count: inputs.count, classCount: description.numOutputs).int64Values
  }

  /// The fraction of samples whose largest logit is at their label.
  func accuracy(of model: BackendModel) throws -> Double {
    let predictions = ClassLabels.argmax(
      try model.forward(inputs.batch).logits, classCount: model.description.numOutputs)
    let correct = zip(predictions, labels).filter { $0 == Int($1) }.count
    return Double(correct) / Double(labels.count)
  }
}

/// A training progress event the backend sent malformed.
enum TrainDataError: Error, CustomStringConvertible {
  case badProgressEvent(String)

  var description: String {
    switch self {
    case .badProgressEvent(let event):
      return "the backend sent a progress event without integer 'epoch' and numbers 'loss' and 'accuracy': \(event)"
    }
  }
}
