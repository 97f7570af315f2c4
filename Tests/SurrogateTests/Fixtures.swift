import EntkTestSupport
import Foundation
import Surrogate

/// A small, seeded classification problem with an RBF kernel: points in 2-D around one centre
/// per class.
struct ToyProblem {
  var trainX: [[Double]]
  var trainLabels: [Int]
  var testX: [[Double]]
  var testLabels: [Int]
  let classCount: Int

  init(trainCount: Int, testCount: Int, classCount: Int, seed: UInt64) {
    var state = seed
    func uniform() -> Double {
      state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
      return Double(state >> 11) / Double(1 << 53)
    }
    func sample(_ count: Int) -> ([[Double]], [Int]) {
      var points: [[Double]] = []
      var labels: [Int] = []
      for i in 0..<count {
        let label = i % classCount
        let angle = 2 * Double.pi * Double(label) / Double(classCount)
        points.append([cos(angle) + 1.2 * (uniform() - 0.5), sin(angle) + 1.2 * (uniform() - 0.5)])
        labels.append(label)
      }
      return (points, labels)
    }
    self.classCount = classCount
    (trainX, trainLabels) = sample(trainCount)
    (testX, testLabels) = sample(testCount)
  }

  /// RBF kernel exp(−‖a − b‖² / (2 w²)) between two point sets, float32 row-major [a.count, b.count].
  static func rbf(_ a: [[Double]], _ b: [[Double]], width: Double = 0.7) -> [Float] {
    a.flatMap { p in
      b.map { q in Float(exp(-((p[0] - q[0]) * (p[0] - q[0]) + (p[1] - q[1]) * (p[1] - q[1])) / (2 * width * width))) }
    }
  }

  func trainRows() throws -> KernelRows {
    try KernelRows(kernel: Self.rbf(trainX, trainX), count: trainX.count, trainCount: trainX.count)
  }

  func testRows() throws -> KernelRows {
    try KernelRows(kernel: Self.rbf(testX, trainX), count: testX.count, trainCount: trainX.count)
  }
}

/// Runs a Python script (text) with arguments and returns its standard output.
func runPython(_ script: String, _ arguments: [String], in directory: URL) throws -> String {
  let url = directory.appendingPathComponent("script-\(UUID().uuidString).py")
  try script.write(to: url, atomically: true, encoding: .utf8)
  let result = try runCommand(URL(fileURLWithPath: "/usr/bin/env"), ["python3", url.path] + arguments)
  guard result.status == 0 else {
    struct PythonFailed: Error, CustomStringConvertible { var description: String }
    throw PythonFailed(description: "python3 failed: \(result.stderr)")
  }
  return result.stdout
}
