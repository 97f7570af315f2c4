import ArrayIO
import BackendLoader
import EntkTestSupport
import Foundation
import Testing

/// Training through the ABI's `train` call and through `entk train`, on examples/digits.
@Suite struct TrainingTests {
  static let digits = TestEnvironment.repositoryRoot.appendingPathComponent("examples/digits")
  static let mlp = digits.appendingPathComponent("mlp.json").path

  static func data(_ name: String) throws -> NPYArray { try NPYFile.read(digits.appendingPathComponent("\(name).npy")) }

  /// Trains the digits MLP for `epochs` and returns the model and its progress events.
  private func trainMLP(epochs: Int, seed: Int, stopAfter: Int? = nil) throws -> (BackendModel, [String]) {
    let model = try SwiftNetTestModels.library().open(model: Self.mlp, options: "{\"init_seed\": \(seed)}")
    var events: [String] = []
    try model.train(
      inputs: try Self.data("train_x").float32Values(), labels: try Self.data("train_y").int64Values(),
      options:
        "{\"epochs\": \(epochs), \"batch_size\": 32, \"learning_rate\": 0.001, \"optimizer\": \"adam\", \"seed\": \(seed)}"
    ) { event in
      events.append(event)
      return stopAfter.map { events.count < $0 } ?? true
    }
    return (model, events)
  }

  private func testAccuracy(_ model: BackendModel) throws -> Double {
    let x = try Self.data("test_x").float32Values()
    let y = try Self.data("test_y").int64Values()
    let logits = try model.forward(x, count: y.count).logits
    let correct = y.indices.filter { i in
      let row = logits[i * 10..<(i + 1) * 10]
      return (row.indices.max { row[$0] < row[$1] } ?? -1) - i * 10 == Int(y[i])
    }.count
    return Double(correct) / Double(y.count)
  }

  @Test func shortRunLearnsTheDigits() throws {
    let (model, events) = try trainMLP(epochs: 8, seed: 0)
    #expect(events.count == 8)
    #expect(events.last?.contains("\"epoch\":8,\"epochs\":8") == true)
    #expect(try testAccuracy(model) >= 0.88)
  }

  @Test func trainingIsDeterministicForASeed() throws {
    let (first, firstEvents) = try trainMLP(epochs: 2, seed: 4)
    let (second, secondEvents) = try trainMLP(epochs: 2, seed: 4)
    let (other, _) = try trainMLP(epochs: 2, seed: 5)
    #expect(try first.parameters() == second.parameters())
    #expect(firstEvents == secondEvents)
    #expect(try first.parameters() != other.parameters())
  }

  @Test func progressCallbackCanStopTraining() throws {
    do {
      _ = try trainMLP(epochs: 5, seed: 0, stopAfter: 2)
      Issue.record("training was not stopped")
    } catch let error as BackendCallError {
      #expect(error.status == .cancelled)
      #expect(error.message.contains("after epoch 2"))
    }
  }

  @Test func badLabelsAndOptionsAreInvalidArguments() throws {
    let model = try SwiftNetTestModels.library().open(model: Self.mlp, options: #"{"init_seed": 0}"#)
    let x = [Float](repeating: 0, count: 2 * 64)
    for (labels, options, expected) in [
      ([Int64(0), 10], "{}", "label 1 is 10"), ([0, 1], #"{"optimizer": "lbfgs"}"#, "lbfgs"),
      ([0, 1], #"{"epochs": 0}"#, "epochs"),
    ] {
      do {
        try model.train(inputs: x, labels: labels, options: options) { _ in true }
        Issue.record("train accepted \(labels) with \(options)")
      } catch let error as BackendCallError {
        #expect(error.status == .invalidArgument)
        #expect(error.message.contains(expected), "\(error.message)")
      }
    }
  }

  @Test func trainCommandTrainsSavesAndReports() throws {
    let out = try TestEnvironment.temporaryDirectory().appendingPathComponent("mlp")
    let d = Self.digits.path
    let result = try runEntk([
      "train", "--backend", "swiftnet", "--model", Self.mlp, "--train", "\(d)/train_x.npy", "--train-labels",
      "\(d)/train_y.npy",
      "--test", "\(d)/test_x.npy", "--test-labels", "\(d)/test_y.npy", "--epochs", "6", "--seed", "1", "--out",
      out.path,
      "--json",
    ])
    #expect(result.status == 0, "\(result.stderr)")
    #expect(result.stderr.contains("epoch 6/6"))
    let summary = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any]
    let reported = try #require(summary?["testAccuracy"] as? Double)
    #expect(reported >= 0.85)
    #expect((summary?["epochs"] as? [Any])?.count == 6)
    let reopened = try SwiftNetTestModels.library().open(model: out.path)
    #expect(abs(try testAccuracy(reopened) - reported) < 1e-9)
  }

  @Test func trainCommandRejectsLabelsOutOfRange() throws {
    let folder = try TestEnvironment.temporaryDirectory()
    let labels = folder.appendingPathComponent("y.npy")
    try NPYFile.write(NPYArray(int64: [0, 12], shape: [2]), to: labels)
    let inputs = folder.appendingPathComponent("x.npy")
    try NPYFile.write(NPYArray(float32: [Float](repeating: 0, count: 128), shape: [2, 64]), to: inputs)
    let result = try runEntk([
      "train", "--backend", "swiftnet", "--model", Self.mlp, "--train", inputs.path, "--train-labels", labels.path,
      "--out", folder.appendingPathComponent("out").path,
    ])
    #expect(result.status == 3)
    #expect(result.stderr.contains("label 12 at index 1 is outside 0..<10"), "\(result.stderr)")
  }
}
