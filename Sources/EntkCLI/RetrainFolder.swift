import ArrayIO
import AttributionPipeline
import BackendLoader
import Evaluation
import Foundation
import Reporter

/// A folder of models retrained on subsets of the training set, the counterfactuals that `entk
/// evaluate lds` scores attributions against (random subsets, planned by `entk evaluate subsets`),
/// and the models of `entk evaluate remove` and `mislabel` (named subsets) (docs/evaluate.md).
///
/// `subsets.json` (schemas/subsets.schema.json) fixes everything: the data (paths and SHA-256),
/// the K subsets (drawn from a seed, or listed by the training points each leaves out), the
/// backend and how each model is trained. Subset k lives in `subset-k/` (k zero-padded):
/// `indices.npy`, the trained model, `test_logits.npy`, `margins.npy` and, written last,
/// `done.json`. A subset is finished exactly when `done.json` exists and the margins it records
/// match, so an interrupted run retrains only unfinished subsets, and results are reused.
struct RetrainFolder {
  /// A data file the subsets are drawn from or scored on.
  struct FileRecord: Codable, Equatable {
    var path: String
    var sha256: String
    var shape: [Int]
  }

  /// A model of a named subset: trained on every training point but `removed`, with `seed`.
  struct PlannedModel: Codable, Equatable {
    var name: String
    /// Training indices left out, ascending.
    var removed: [Int]
    var seed: UInt64
  }

  /// `subsets.json`.
  struct Description: Codable, Equatable {
    var format = "entk-retrain-subsets"
    var version = 1
    var trainCount: Int
    var testCount: Int
    /// Random subsets: α, the subset size and the seed of `RandomSubsets`; subset k trains with
    /// seed `training.seed + k` (or k for a retrain command).
    var fraction: Double?
    var subsetSize: Int?
    var seed: UInt64?
    /// Or named subsets, `models[k]` for subset k.
    var models: [PlannedModel]?
    var subsetCount: Int
    var trainInputs: FileRecord
    var trainLabels: FileRecord
    var testInputs: FileRecord
    var testLabels: FileRecord
    /// The backend that trains (with `training`) and loads every model.
    var backend: String
    var options: String?
    /// The backend's `train` call with these settings; subset k uses seed `training.seed + k`.
    var training: TrainingSettings?
    /// Or a shell command template with {subset}, {model} and {seed}.
    var retrainCommand: String?

    /// What makes the subsets undefined (an edited file), or nil.
    var problem: String? {
      guard trainCount >= 2, testCount >= 1, subsetCount >= 1 else {
        return "trainCount \(trainCount), testCount \(testCount), subsetCount \(subsetCount)"
      }
      if let models {
        guard models.count == subsetCount else { return "\(models.count) models for subsetCount \(subsetCount)" }
        if let bad = models.first(where: { $0.removed.contains { !(0..<trainCount).contains($0) } }) {
          return "model \(bad.name): a removed index outside 0..<\(trainCount)"
        }
        return nil
      }
      guard fraction != nil, seed != nil, let subsetSize, (1..<trainCount).contains(subsetSize) else {
        return "neither models nor random subsets (fraction, seed, subsetSize within 1..<\(trainCount))"
      }
      return nil
    }
  }

  /// `done.json` of a finished subset.
  struct Done: Codable {
    var subset: Int
    var seed: UInt64
    /// SHA-256 of `margins.npy`.
    var margins: String
    var seconds: Double
  }

  static let descriptionName = "subsets.json"

  let url: URL
  let description: Description

  /// Subset k's folder: `subset-` and k zero-padded to the width of K − 1 (at least 3 digits).
  func folder(_ k: Int) -> URL {
    let width = max(3, String(description.subsetCount - 1).count)
    let digits = String(k)
    return url.appendingPathComponent("subset-" + String(repeating: "0", count: max(0, width - digits.count)) + digits)
  }

  /// The training indices of subset k, ascending.
  func subset(_ k: Int) -> [Int] {
    if let models = description.models {
      let removed = Set(models[k].removed)
      return (0..<description.trainCount).filter { !removed.contains($0) }
    }
    return RandomSubsets.subset(
      index: k, seed: description.seed ?? 0, trainCount: description.trainCount, size: description.subsetSize ?? 0)
  }

  /// The seed subset k trains with.
  func seed(_ k: Int) -> UInt64 {
    description.models?[k].seed ?? (description.training?.seed ?? 0) &+ UInt64(k)
  }

  /// Subset k's trained model.
  func model(_ k: Int) -> URL { folder(k).appendingPathComponent("model") }

  /// Whether subset k is finished: `done.json` present and `margins.npy` with the SHA-256 it records.
  func isDone(_ k: Int) -> Bool {
    let folder = folder(k)
    guard let data = try? Data(contentsOf: folder.appendingPathComponent("done.json")),
      let done = try? JSONDecoder().decode(Done.self, from: data),
      let sha = try? SHA256.hex(fileAt: folder.appendingPathComponent("margins.npy"))
    else { return false }
    return done.margins == sha
  }

  /// Opens the folder at `url`.
  /// - Throws: `EvaluateError.notARetrainFolder` without a readable `subsets.json` of this format.
  static func open(_ url: URL) throws -> RetrainFolder {
    let file = url.appendingPathComponent(descriptionName)
    guard let data = try? Data(contentsOf: file) else {
      throw EvaluateError.notARetrainFolder(
        path: url.path, reason: "no \(descriptionName) (made by `entk evaluate subsets`)")
    }
    let description: Description
    do {
      description = try JSONDecoder().decode(Description.self, from: data)
    } catch {
      throw EvaluateError.notARetrainFolder(path: file.path, reason: JSONFailure.reason(error))
    }
    guard description.format == "entk-retrain-subsets", description.version == 1 else {
      throw EvaluateError.notARetrainFolder(
        path: file.path, reason: "format \(description.format) version \(description.version)")
    }
    if let problem = description.problem {
      throw EvaluateError.notARetrainFolder(path: file.path, reason: problem)
    }
    return RetrainFolder(url: url, description: description)
  }

  /// Retrains every unfinished subset of `subsets` in turn, logging on stderr.
  func retrain(_ subsets: [Int]) throws {
    let pending = subsets.filter { !isDone($0) }
    guard !pending.isEmpty else { return }
    let data = try RetrainData(description)
    for (position, k) in pending.enumerated() {
      printError("evaluate: retraining subset \(k) (\(position + 1) of \(pending.count) to do)")
      try retrain(k, data: data)
    }
  }

  /// Trains subset k's model (with the backend or the command), records its test margins, and
  /// marks the subset done; a failure leaves the subset unfinished, never half-written.
  private func retrain(_ k: Int, data: RetrainData) throws {
    let started = Date()
    let folder = folder(k)
    let model = model(k)
    let partial = folder.appendingPathComponent("model.partial-\(getpid())")
    let fileManager = FileManager.default
    for stale in ["done.json", "margins.npy", "test_logits.npy", "model", partial.lastPathComponent] {
      try? fileManager.removeItem(at: folder.appendingPathComponent(stale))
    }
    try fileManager.createDirectory(at: folder, withIntermediateDirectories: true)
    let indices = subset(k)
    try write(NPYArray(int64: indices.map { Int64($0) }, shape: [indices.count]), to: "indices.npy", in: folder)
    let seed = seed(k)
    defer { try? fileManager.removeItem(at: partial) }
    if let training = description.training {
      let (inputs, labels) = data.training(indices)
      try training.seeded(seed).trainAndSave(backend: description.backend, inputs: inputs, labels: labels, to: model)
    } else if let template = description.retrainCommand {
      try data.writeTraining(indices, into: folder)
      try RetrainCommand(template: template).run(subset: k, folder: folder, model: partial, seed: seed)
      guard fileManager.fileExists(atPath: partial.path) else {
        throw EvaluateError.retrainProducedNoModel(subset: k, path: partial.path)
      }
      try fileManager.moveItem(at: partial, to: model)
    }

    let test = try TestMargins(
      model: model, backend: description.backend, options: description.options, inputs: data.testInputs,
      labels: data.testLabels)
    try write(
      NPYArray(float32: test.logits, shape: [description.testCount, test.classCount]), to: "test_logits.npy",
      in: folder)
    let marginsData = try write(
      NPYArray(float64: test.margins, shape: [description.testCount]), to: "margins.npy", in: folder)
    let done = Done(
      subset: k, seed: seed, margins: SHA256.hex(marginsData), seconds: Date().timeIntervalSince(started))
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
    try encoder.encode(done).write(to: folder.appendingPathComponent("done.json"), options: .atomic)
  }

  /// The test margins of every subset, [K][M]; every subset must be done.
  func margins() throws -> [[Double]] {
    try checkDone()
    return try (0..<description.subsetCount).map { k in
      try NPYFile.read(folder(k).appendingPathComponent("margins.npy")).float64Values()
    }
  }

  /// The class each subset's model predicts at each test point, [K][M]; every subset must be done.
  func predictions() throws -> [[Int]] {
    try checkDone()
    return try (0..<description.subsetCount).map { k in
      let logits = try NPYFile.read(folder(k).appendingPathComponent("test_logits.npy"))
      let values = logits.float32Values()
      let c = logits.shape.last ?? 1
      return (0..<description.testCount).map { x in
        let row = values[(x * c)..<((x + 1) * c)]
        return (row.indices.max { row[$0] < row[$1] } ?? row.startIndex) - x * c
      }
    }
  }

  /// - Throws: `EvaluateError.unfinishedSubsets` naming the subsets not done.
  private func checkDone() throws {
    let missing = (0..<description.subsetCount).filter { !isDone($0) }
    guard missing.isEmpty else { throw EvaluateError.unfinishedSubsets(path: url.path, missing: missing) }
  }

  /// Writes `array` as `.npy` atomically and returns the bytes written.
  @discardableResult
  private func write(_ array: NPYArray, to name: String, in folder: URL) throws -> Data {
    var data = NPYHeader(dtype: array.dtype, shape: array.shape).encoded()
    data.append(array.bytes)
    try data.write(to: folder.appendingPathComponent(name), options: .atomic)
    return data
  }
}

/// The data a retraining reads, checked against the SHA-256 `subsets.json` records.
struct RetrainData {
  let trainInputs: [Float]
  let trainLabels: [Int64]
  let sampleShape: [Int]
  let testInputs: [Float]
  let testLabels: [Int]

  init(_ description: RetrainFolder.Description) throws {
    for record in [description.trainInputs, description.trainLabels, description.testInputs, description.testLabels] {
      let actual = try SHA256.hex(fileAt: URL(fileURLWithPath: record.path))
      guard actual == record.sha256 else { throw EvaluateError.dataChanged(path: record.path) }
    }
    let x = try ArrayFile.readFiniteFloat32(URL(fileURLWithPath: description.trainInputs.path))
    trainInputs = x.float32Values()
    sampleShape = Array(x.shape.dropFirst())
    trainLabels = try LabelFile(path: description.trainLabels.path, count: description.trainCount).int64Values
    testInputs = try ArrayFile.readFiniteFloat32(URL(fileURLWithPath: description.testInputs.path)).float32Values()
    testLabels = try LabelFile(path: description.testLabels.path, count: description.testCount).values
  }

  /// The inputs (float32, row-major) and labels of the training points at `indices`.
  func training(_ indices: [Int]) -> (inputs: [Float], labels: [Int64]) {
    let size = sampleShape.reduce(1, *)
    var inputs: [Float] = []
    inputs.reserveCapacity(indices.count * size)
    for i in indices { inputs += trainInputs[(i * size)..<((i + 1) * size)] }
    return (inputs, indices.map { trainLabels[$0] })
  }

  /// Writes the subset's `train_x.npy` and `train_y.npy` into `folder`, for a retrain command.
  func writeTraining(_ indices: [Int], into folder: URL) throws {
    let (inputs, labels) = training(indices)
    try NPYFile.write(
      NPYArray(float32: inputs, shape: [indices.count] + sampleShape), to: folder.appendingPathComponent("train_x.npy"))
    try NPYFile.write(NPYArray(int64: labels, shape: [indices.count]), to: folder.appendingPathComponent("train_y.npy"))
  }
}
