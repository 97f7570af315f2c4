import ArrayIO
import EntkTestSupport
import Foundation

/// The first `trainCount` training and `testCount` test images of examples/digits in a temporary
/// folder, with MLPs of examples/digits/mlp.json trained on them by `entk train` (swiftnet): the
/// data on which `entk attribute` ensembles and `entk evaluate` are tested end to end.
struct TinyDigits {
  let directory: URL
  let trainCount: Int
  let testCount: Int

  init(trainCount: Int = 40, testCount: Int = 8, label: String = #function) throws {
    directory = try TestEnvironment.temporaryDirectory(label)
    self.trainCount = trainCount
    self.testCount = testCount
    let digits = TestEnvironment.repositoryRoot.appendingPathComponent("examples/digits")
    for (role, count) in [("train", trainCount), ("test", testCount)] {
      let x = try NPYFile.read(digits.appendingPathComponent("\(role)_x.npy")).float32Values()
      let y = try NPYFile.read(digits.appendingPathComponent("\(role)_y.npy")).int64Values()
      try NPYFile.write(
        NPYArray(float32: Array(x.prefix(count * 64)), shape: [count, 1, 8, 8]),
        to: directory.appendingPathComponent("\(role)_x.npy"))
      try NPYFile.write(
        NPYArray(int64: Array(y.prefix(count)), shape: [count]), to: directory.appendingPathComponent("\(role)_y.npy"))
    }
  }

  func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

  static var architecture: String {
    TestEnvironment.repositoryRoot.appendingPathComponent("examples/digits/mlp.json").path
  }

  /// Trains the MLP with `seed` for `epochs` into `name` and returns its path.
  func trainModel(_ name: String, seed: Int, epochs: Int = 3) throws -> String {
    let result = try runEntk([
      "train", "--backend", "swiftnet", "--model", Self.architecture, "--train", path("train_x.npy"), "--train-labels",
      path("train_y.npy"), "--epochs", String(epochs), "--seed", String(seed), "--out", path(name),
    ])
    guard result.status == 0 else { throw TinyDigitsError.trainingFailed(result.stderr) }
    return path(name)
  }

  func remove() { try? FileManager.default.removeItem(at: directory) }

  func json(_ relative: String) throws -> [String: Any] {
    try JSONSerialization.jsonObject(with: Data(contentsOf: directory.appendingPathComponent(relative)))
      as? [String: Any] ?? [:]
  }
}

enum TinyDigitsError: Error {
  case trainingFailed(String)
}
