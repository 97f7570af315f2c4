import ArrayIO
import BackendLoader
import EntkTestSupport
import Foundation
import Kernels
import Testing

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
  /// Two convolutions on 2×2 positions of 32 channels (tools/fixtures/make_conv_sum_model.py):
  /// the onnx backend reports both weights as sums over positions, and the kernel stage keeps
  /// them as sums for every kind.
  static let onnxConvSums = KernelFixture(
    backend: "onnx", model: TestEnvironment.fixture("conv-sums/cnn.onnx"), folder: TestEnvironment.fixture("conv-sums"),
    train: "train.npy", test: "test.npy")
  /// examples/digits/cnn.onnx on the ONNX backend, with torch.func reference kernels
  /// (tools/fixtures/make_kernel_torch_references.py).
  static let onnxCNN = KernelFixture(
    backend: "onnx", model: TestEnvironment.fixture("kernel-onnx-cnn/cnn.onnx"),
    folder: TestEnvironment.fixture("kernel-onnx-cnn"), train: "train.npy", test: "test.npy")

  func models(_ count: Int) throws -> [BackendModel] {
    let library = try BackendLibrary.load(backend)
    return try (0..<count).map { _ in try library.open(model: model.path, options: nil) }
  }

  func samples(_ file: String, inputs: [ModelInput]) throws -> SampleSet {
    try SampleSet.read(.file(folder.appendingPathComponent(file)), inputs: inputs)
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
  var factors = FactorUse.auto
  /// The backend's `options_json`.
  var options: String? = nil
  /// When set, this many training samples: the fixture's cycled, each pass scaled by 1 + pass/16,
  /// for kernels larger than one of `GramTile`'s panels.
  var trainCount: Int? = nil

  /// Computes every tile in a fresh folder with `KernelJob`, and returns kernel.npy's float32
  /// values and shape.
  func compute() throws -> (values: [Float], shape: [Int]) {
    let library = try BackendLibrary.load(fixture.backend)
    let directory = try TestEnvironment.temporaryDirectory("kernel-run")
    defer { try? FileManager.default.removeItem(at: directory) }
    var train = fixture.folder.appendingPathComponent(fixture.train)
    if let trainCount {
      let cycled = directory.appendingPathComponent("train.npy")
      try NPYFile.write(Self.cycled(NPYFile.read(train), count: trainCount), to: cycled)
      train = cycled
    }
    let test = testRows ? fixture.folder.appendingPathComponent(fixture.test) : nil
    // The tile side is this run's own (the whole kernel by default), so the budget never limits it.
    let side = try tileSide ?? [train, test].compactMap { $0 }.map { try NPYFile.read($0).shape[0] }.max() ?? 1
    let settings = try KernelSettings(
      kind: kind, projection: projection, normalize: normalize, memory: 1 << 40, tileSize: side, batchSize: batchSize,
      factors: factors)
    let job = try KernelJob(
      settings: settings, library: library, model: fixture.model.path, options: options, train: .file(train),
      test: test.map { .file($0) },
      threads: threads)
    let summary = try job.run(in: directory.appendingPathComponent("kernel"))
    let array = try NPYFile.read(try #require(summary.file))
    return (array.float32Values(), array.shape)
  }

  private static func cycled(_ array: NPYArray, count: Int) -> NPYArray {
    let (values, samples) = (array.float32Values(), array.shape[0])
    let size = values.count / samples
    let cycled = (0..<count).flatMap { index in
      let scale = 1 + Float(index / samples) / 16
      return values[index % samples * size..<(index % samples + 1) * size].map { $0 * scale }
    }
    return NPYArray(float32: cycled, shape: [count] + array.shape.dropFirst())
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

/// How many values of `a` differ from `b` in any bit (the kernels' invariance is bit for bit).
func differingBits(_ a: [Float], _ b: [Float]) -> Int {
  precondition(a.count == b.count)
  return zip(a, b).filter { $0.bitPattern != $1.bitPattern }.count
}
