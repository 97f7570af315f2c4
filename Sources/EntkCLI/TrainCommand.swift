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

  @Option(help: "Architecture file (for swiftnet: a JSON file, see schemas/swiftnet-model.schema.json).")
  var arch: String

  @Option(
    name: .customLong("train-x"), help: "Training inputs (.npy, .csv or .npz), [N, ...input shape] or [N, input size].")
  var trainX: String

  @Option(name: .customLong("train-y"), help: "Training labels (.npy or .csv), N integers in 0..<C.")
  var trainY: String

  @Option(name: .customLong("test-x"), help: "Test inputs, for the test accuracy after every epoch.")
  var testX: String?

  @Option(name: .customLong("test-y"), help: "Test labels.")
  var testY: String?

  @Option(help: "Passes over the training data.") var epochs = 10
  @Option(name: .customLong("batch-size"), help: "Samples per minibatch.") var batchSize = 32
  @Option(help: "Learning rate.") var lr = 0.001
  @Option(help: "Optimizer: adam or sgd.") var optimizer = "adam"
  @Option(help: "Seed of the initialisation and of the shuffling order.") var seed = 0
  @Option(help: "Folder to write the trained model to (replaced if it holds a model).") var out: String
  @Flag(help: "Print a JSON summary on stdout.") var json = false

  func validate() throws {
    try TrainingSettings.check(epochs: epochs, batchSize: batchSize, learningRate: lr, optimizer: optimizer, seed: seed)
    guard (testX == nil) == (testY == nil) else { throw ValidationError("--test-x and --test-y go together") }
  }

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
    let settings = TrainingSettings(
      arch: arch, epochs: epochs, batchSize: batchSize, learningRate: lr, optimizer: optimizer, seed: seed)
    let library = try BackendLibrary.load(backend)
    let model = try library.open(model: arch, options: settings.openOptions)
    let description = model.description
    let train = try LabelledData(inputs: trainX, labels: trainY, description: description)
    let test = try testX.flatMap { x in
      try testY.map { try LabelledData(inputs: x, labels: $0, description: description) }
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
            format: "epoch %\(String(epochs).count)d/%d  loss %.4f  train acc %6.2f%%", epoch.epoch, epochs, epoch.loss,
            100 * epoch.trainAccuracy) + testText)
        return true
      } catch {
        failure = error
        return false
      }
    }
    if let failure { throw failure }
    try model.save(to: out)

    let trainAccuracy = try train.accuracy(of: model)
    let testAccuracy = try test.map { try $0.accuracy(of: model) }
    if json {
      try printJSON(
        Summary(
          backend: library.name, arch: arch, out: out, trainingOptions: options, epochs: history,
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
