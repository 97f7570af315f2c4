import ArrayIO
import EntkTestSupport
import Foundation
import Testing

@testable import BackendLoader

/// The tanh MLP of the example-c fixture, recomputed here in Float64 from its .npy weights.
private struct ReferenceMLP {
  var weights: [[Double]] = []  // each [out × in], row-major
  var biases: [[Double]] = []
  var shapes: [(out: Int, in: Int)] = []

  init(folder: URL) throws {
    for k in 1...3 {
      let w = try NPYFile.read(folder.appendingPathComponent("W\(k).npy"))
      weights.append(w.float64Values())
      biases.append(try NPYFile.read(folder.appendingPathComponent("b\(k).npy")).float64Values())
      shapes.append((w.shape[0], w.shape[1]))
    }
  }

  func logits(_ x: [Double]) -> [Double] {
    var a = x
    for k in 0..<3 {
      var z = biases[k]
      for o in 0..<shapes[k].out {
        for i in 0..<shapes[k].in { z[o] += weights[k][o * shapes[k].in + i] * a[i] }
      }
      a = k < 2 ? z.map { tanh($0) } : z
    }
    return a
  }

  /// Flat parameters in example-c's order: W1, b1, W2, b2, W3, b3.
  var flat: [Double] { (0..<3).flatMap { weights[$0] + biases[$0] } }

  mutating func setFlat(_ theta: [Double]) {
    var offset = 0
    for k in 0..<3 {
      weights[k] = Array(theta[offset..<offset + weights[k].count])
      offset += weights[k].count
      biases[k] = Array(theta[offset..<offset + biases[k].count])
      offset += biases[k].count
    }
  }
}

@Test func exampleCForwardMatchesAnIndependentFloat64Computation() throws {
  let folder = TestEnvironment.fixture("example-c-mlp")
  let reference = try ReferenceMLP(folder: folder)
  let inputs = try NPYFile.read(folder.appendingPathComponent("inputs.npy")).float32Values()
  let model = try BackendLibrary.load("example-c").open(model: folder.path)
  let n = inputs.count / 5
  let logits = try model.forward(inputs, count: n).logits
  for i in 0..<n {
    let expected = reference.logits(inputs[i * 5..<(i + 1) * 5].map(Double.init))
    for c in 0..<3 { #expect(abs(Double(logits[i * 3 + c]) - expected[c]) < 1e-5) }
  }
}

@Test func exampleCJacobianMatchesFloat64CentralDifferences() throws {
  let folder = TestEnvironment.fixture("example-c-mlp")
  var reference = try ReferenceMLP(folder: folder)
  let inputs = try NPYFile.read(folder.appendingPathComponent("inputs.npy")).float32Values()
  let model = try BackendLibrary.load("example-c").open(model: folder.path)
  let n = 2
  let x = Array(inputs[0..<n * 5])
  let jacobian = try model.jacobian(x, count: n)  // host fallback: one-hot vjp calls
  let theta = reference.flat
  let p = theta.count
  let h = 1e-6
  for parameter in 0..<p {
    var plus = theta
    plus[parameter] += h
    var minus = theta
    minus[parameter] -= h
    for i in 0..<n {
      let sample = x[i * 5..<(i + 1) * 5].map(Double.init)
      reference.setFlat(plus)
      let up = reference.logits(sample)
      reference.setFlat(minus)
      let down = reference.logits(sample)
      for c in 0..<3 {
        let numeric = (up[c] - down[c]) / (2 * h)
        let analytic = Double(jacobian[(i * 3 + c) * p + parameter])
        #expect(abs(numeric - analytic) <= 1e-4 * max(1, abs(numeric)), "θ[\(parameter)] sample \(i) class \(c)")
      }
    }
  }
}
