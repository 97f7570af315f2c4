import ArrayIO
import BackendLoader
import EntkTestSupport
import Foundation
import Kernels

/// A model and its data for kernel tests.
struct KernelFixture: Sendable {
  var backend: String
  /// The model file or folder.
  var model: URL
  /// The folder holding the data files.
  var folder: URL
  var train: String
  var test: String

  /// The 20-300-40-4 tanh MLP of tools/fixtures/make_kernel_test_model.py on the example-c backend.
  static let exampleMLP = KernelFixture(
    backend: "example-c", model: TestEnvironment.fixture("kernel-mlp"), folder: TestEnvironment.fixture("kernel-mlp"),
    train: "train.npy", test: "test.npy")
  /// The SwiftNet backend's small CNN (convolution, batch norm, pooling), 4 samples of [3, 9, 7].
  static let swiftnetCNN = KernelFixture(
    backend: "swiftnet", model: TestEnvironment.fixture("swiftnet-cnn"),
    folder: TestEnvironment.fixture("swiftnet-cnn"),
    train: "inputs.npy", test: "inputs.npy")
  /// examples/digits/cnn.onnx on the ONNX backend, with torch.func reference kernels
  /// (tools/fixtures/make_kernel_torch_references.py).
  static let onnxCNN = KernelFixture(
    backend: "onnx", model: TestEnvironment.fixture("kernel-onnx-cnn/cnn.onnx"),
    folder: TestEnvironment.fixture("kernel-onnx-cnn"), train: "train.npy", test: "test.npy")

  func models(_ count: Int) throws -> [BackendModel] {
    let library = try BackendLibrary.load(backend)
    return try (0..<count).map { _ in try library.open(model: model.path, options: nil) }
  }

  func samples(_ file: String, inputShape: [Int]) throws -> SampleSet {
    try SampleSet.read(folder.appendingPathComponent(file), inputShape: inputShape)
  }
}

/// One way of computing a kernel through the tiled path.
struct KernelRun {
  var kind: KernelKind
  var fixture = KernelFixture.exampleMLP
  var normalize: KernelNormalization = .none
  var projection: ProjectionSettings? = nil
  var testRows = false
  var tileSide: Int? = nil
  var batchSize = 64
  var threads = 1
  /// When set, this many training samples: the fixture's cycled, each pass scaled by 1 + pass/16,
  /// for kernels larger than one of `GramTile`'s panels.
  var trainCount: Int? = nil

  /// Computes every tile in a fresh folder, merges, and returns kernel.npy's float32 values and shape.
  func compute() throws -> (values: [Float], shape: [Int]) {
    let models = try fixture.models(threads)
    let shape = models[0].description.inputShape
    let train =
      try trainCount.map { try Self.cycled(fixture.samples(fixture.train, inputShape: shape), count: $0) }
      ?? fixture.samples(fixture.train, inputShape: shape)
    let rows = testRows ? try fixture.samples(fixture.test, inputShape: shape) : train
    let side = tileSide ?? max(rows.count, train.count)
    let grid = TileGrid(rows: rows.count, columns: train.count, tileRows: side, tileColumns: side, symmetric: !testRows)
    let manifest = KernelManifest(
      kind: kind, normalize: normalize, projection: projection, backend: fixture.backend, model: fixture.model.path,
      options: nil, rows: rows, columns: train, description: models[0].description, grid: grid)
    let directory = try TestEnvironment.temporaryDirectory("kernel-run")
    defer { try? FileManager.default.removeItem(at: directory) }
    try manifest.write(directory: directory)
    let projector = projection.map {
      CounterProjection(
        rows: $0.dim, columns: models[0].description.numParams, distribution: $0.distribution, seed: $0.seed)
    }
    let producer = FeatureProducer(kind: kind, models: models, projection: projector, batchSize: batchSize)
    _ = try KernelComputation(
      manifest: manifest, producer: producer, rowSet: rows, columnSet: train, directory: directory
    ).run()
    let merged = try KernelMerge.merge(directory: directory)
    let array = try NPYFile.read(directory.appendingPathComponent(merged.file))
    return (array.float32Values(), array.shape)
  }

  private static func cycled(_ set: SampleSet, count: Int) throws -> SampleSet {
    let values = (0..<count).flatMap { index in
      let scale = 1 + Float(index / set.count) / 16
      let sample = index % set.count * set.sampleSize
      return set.values[sample..<sample + set.sampleSize].map { $0 * scale }
    }
    return try SampleSet(name: "\(set.name) ×\(count)", values: values, count: count, sampleSize: set.sampleSize)
  }
}

/// Relative Frobenius error ‖a − b‖ / ‖b‖, in float64.
func relativeError(_ a: [Float], _ b: [Double]) -> Double {
  precondition(a.count == b.count)
  var difference = 0.0
  var norm = 0.0
  for index in a.indices {
    difference += (Double(a[index]) - b[index]) * (Double(a[index]) - b[index])
    norm += b[index] * b[index]
  }
  return (difference / norm).squareRoot()
}
