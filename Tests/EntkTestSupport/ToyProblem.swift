import Foundation
import Surrogate

/// A small, seeded classification problem with an RBF kernel, for the surrogate, attribution and
/// faithfulness tests: points in 2-D around one centre per class.
public struct ToyProblem {
  public var trainX: [[Double]]
  public var trainLabels: [Int]
  public var testX: [[Double]]
  public var testLabels: [Int]
  public let classCount: Int

  public init(trainCount: Int, testCount: Int, classCount: Int, seed: UInt64) {
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
  public static func rbf(_ a: [[Double]], _ b: [[Double]], width: Double = 0.7) -> [Float] {
    a.flatMap { p in
      b.map { q in Float(exp(-((p[0] - q[0]) * (p[0] - q[0]) + (p[1] - q[1]) * (p[1] - q[1])) / (2 * width * width))) }
    }
  }

  public func trainRows() throws -> KernelRows {
    try KernelRows(kernel: Self.rbf(trainX, trainX), count: trainX.count, trainCount: trainX.count)
  }

  public func testRows() throws -> KernelRows {
    try KernelRows(kernel: Self.rbf(testX, trainX), count: testX.count, trainCount: trainX.count)
  }
}
