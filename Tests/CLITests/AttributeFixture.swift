import ArrayIO
import EntkTestSupport
import Foundation

/// Small `entk attribute` inputs written as .npy files.
///
/// Points in 2-D around one centre per class, RBF kernels (optionally split into two "layers"), and logits of a stand-in network
/// (minus squared distance to each centre). Inputs are stored image-shaped, [count, 1, 2, 2].
struct AttributeFixture {
  let directory: URL
  let trainCount: Int
  let testCount: Int
  let classCount: Int

  init(trainCount: Int = 48, testCount: Int = 12, classCount: Int = 3, layers: Bool = false) throws {
    directory = try TestEnvironment.temporaryDirectory("attribute")
    self.trainCount = trainCount
    self.testCount = testCount
    self.classCount = classCount
    var state: UInt64 = 2024
    func uniform() -> Double {
      state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
      return Double(state >> 11) / Double(1 << 53)
    }
    let centres = (0..<classCount).map { c in
      [cos(2 * Double.pi * Double(c) / Double(classCount)), sin(2 * Double.pi * Double(c) / Double(classCount))]
    }
    func points(_ count: Int) -> ([[Double]], [Int]) {
      let labels = (0..<count).map { $0 % classCount }
      return (labels.map { [centres[$0][0] + uniform() - 0.5, centres[$0][1] + uniform() - 0.5] }, labels)
    }
    let (train, trainLabels) = points(trainCount)
    let (test, testLabels) = points(testCount)
    func rbf(_ a: [[Double]], _ b: [[Double]]) -> [Float] {
      a.flatMap { p in
        b.map { q in Float(exp(-((p[0] - q[0]) * (p[0] - q[0]) + (p[1] - q[1]) * (p[1] - q[1])) / 0.98)) }
      }
    }
    func logits(_ x: [[Double]]) -> [Float] {
      x.flatMap { p in centres.map { c in Float(-3 * ((p[0] - c[0]) * (p[0] - c[0]) + (p[1] - c[1]) * (p[1] - c[1]))) }
      }
    }
    func inputs(_ x: [[Double]]) -> [Float] { x.flatMap { [Float($0[0]), Float($0[1]), Float($0[0] * $0[1]), 0] } }
    let trainKernel = rbf(train, train)
    let testKernel = rbf(test, train)
    if layers {
      try write(
        NPYArray(
          float32: trainKernel.map { 0.4 * $0 } + trainKernel.map { 0.6 * $0 }, shape: [2, trainCount, trainCount]),
        "train_kernel.npy")
      try write(
        NPYArray(
          float32: testKernel.map { 0.4 * $0 } + testKernel.map { 0.6 * $0 }, shape: [2, testCount, trainCount]),
        "test_kernel.npy")
    } else {
      try write(NPYArray(float32: trainKernel, shape: [trainCount, trainCount]), "train_kernel.npy")
      try write(NPYArray(float32: testKernel, shape: [testCount, trainCount]), "test_kernel.npy")
    }
    try write(NPYArray(int64: trainLabels.map { Int64($0) }, shape: [trainCount]), "train_labels.npy")
    try write(NPYArray(int64: testLabels.map { Int64($0) }, shape: [testCount]), "test_labels.npy")
    try write(NPYArray(float32: logits(train), shape: [trainCount, classCount]), "train_logits.npy")
    try write(NPYArray(float32: logits(test), shape: [testCount, classCount]), "test_logits.npy")
    try write(NPYArray(float32: inputs(train), shape: [trainCount, 1, 2, 2]), "train_x.npy")
    try write(NPYArray(float32: inputs(test), shape: [testCount, 1, 2, 2]), "test_x.npy")
  }

  func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

  func write(_ array: NPYArray, _ name: String) throws {
    try NPYFile.write(array, to: directory.appendingPathComponent(name))
  }

  /// `entk attribute` arguments for these files, writing the bundle `bundle` in the fixture's folder.
  func arguments(bundle: String = "bundle") -> [String] {
    [
      "attribute", "--train-kernel", path("train_kernel.npy"), "--test-kernel", path("test_kernel.npy"),
      "--train-labels", path("train_labels.npy"), "--test-labels", path("test_labels.npy"),
      "--test-logits", path("test_logits.npy"), "--train", path("train_x.npy"), "--test", path("test_x.npy"),
      "--kernel-kind", "trntk", "--top-k", "4", "--out", path(bundle),
    ]
  }

  /// Runs tools/validate_bundle.py on a bundle.
  func validate(_ bundle: String = "bundle") throws -> CommandResult {
    try runCommand(
      URL(fileURLWithPath: "/usr/bin/env"),
      ["python3", TestEnvironment.repositoryRoot.appendingPathComponent("tools/validate_bundle.py").path, path(bundle)])
  }
}
