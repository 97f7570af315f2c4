import ArrayIO
import BackendLoader
import EntkTestSupport
import Foundation
import Testing

/// entk's logits and per-sample Jacobians against PyTorch's, for the models that
/// tools/fixtures/export_onnx_fixtures.py exports with both exporters.
///
/// Through the C ABI, as a host sees the backend.
///
/// Tolerance (float32, reverse mode on both sides, different summation orders):
/// |entk − torch| ≤ 1e-4 + 1e-3·|torch| for logits and Jacobian entries.
struct TorchFixtureTests {
  struct Case: CustomTestStringConvertible, Sendable {
    var model: String
    var exporter: String
    var file: String { "\(model)-\(exporter).onnx" }
    var testDescription: String { file }
  }

  static let models = ["mlp", "cnn", "resnet", "transformer", "encoder", "recurrent", "dense", "token"]
  static let cases = models.flatMap { model in
    ["legacy", "dynamo"].map { Case(model: model, exporter: $0) }
  }

  struct TorchParameter: Decodable {
    var name: String
    var offset: Int
    var count: Int
    var legacy: Bool
    var dynamo: Bool
  }

  static func close(_ a: Float, _ b: Float) -> Bool { abs(a - b) <= 1e-4 + 1e-3 * abs(b) }

  @Test(arguments: cases)
  func logitsAndJacobiansMatchTorch(_ fixture: Case) throws {
    let library = try BackendLibrary.load("onnx")
    let model = try library.open(model: TestEnvironment.fixture("onnx/\(fixture.file)").path)
    let inputs = try NPYFile.read(TestEnvironment.fixture("onnx/\(fixture.model)-inputs.npy"))
    let torchLogits = try NPYFile.read(TestEnvironment.fixture("onnx/\(fixture.model)-logits.npy")).float32Values()
    let torchJacobian = try NPYFile.read(TestEnvironment.fixture("onnx/\(fixture.model)-jacobian.npy"))
    let table = try JSONDecoder().decode(
      [TorchParameter].self, from: Data(contentsOf: TestEnvironment.fixture("onnx/\(fixture.model)-params.json")))
    let n = inputs.shape[0]
    let c = model.description.numOutputs
    #expect(model.description.inputShape == [1, 8, 8])
    #expect(c == 10)

    let logits = try model.forward(inputs.float32Values(), count: n).logits
    #expect(logits.count == torchLogits.count)
    for (i, (ours, theirs)) in zip(logits, torchLogits).enumerated() {
      #expect(Self.close(ours, theirs), "logit \(i): entk \(ours), torch \(theirs)")
    }

    let jacobian = try model.jacobian(inputs.float32Values(), count: n)
    let reference = torchJacobian.float32Values()
    let torchP = torchJacobian.shape[2]
    let p = model.description.numParams
    let groups = Dictionary(uniqueKeysWithValues: model.description.parameterGroups.map { ($0.name, $0) })
    var compared = 0
    for parameter in table where fixture.exporter == "legacy" ? parameter.legacy : parameter.dynamo {
      guard let group = groups[parameter.name] else {
        Issue.record("torch parameter \(parameter.name) is not a parameter group of \(fixture.file)")
        continue
      }
      #expect(group.count == parameter.count)
      var worst: (Float, Float, String)? = nil
      for sample in 0..<n {
        for cls in 0..<c {
          for j in 0..<min(group.count, parameter.count) {
            let ours = jacobian[(sample * c + cls) * p + group.offset + j]
            let theirs = reference[(sample * c + cls) * torchP + parameter.offset + j]
            if !Self.close(ours, theirs), worst == nil {
              worst = (ours, theirs, "sample \(sample), class \(cls), element \(j)")
            }
          }
        }
      }
      if let worst { Issue.record("\(fixture.file) \(parameter.name) \(worst.2): entk \(worst.0), torch \(worst.1)") }
      compared += 1
    }
    // Legacy exports keep every PyTorch parameter; the optimizing dynamo exporter keeps some.
    #expect(compared == (fixture.exporter == "legacy" ? table.count : table.filter(\.dynamo).count))
    #expect(compared >= 2)
  }

  /// Real 8×8 digit images rather than the default Gaussian inputs or the fixtures' own: with
  /// ReLU networks a finite-difference step can cross a kink at one of hundreds of activations
  /// (the ResNet with Gaussian inputs, the MLP with mlp-inputs.npy, whose smallest
  /// pre-activation is 3e-4) and make the difference quotient disagree by a few % with the
  /// gradient, which the torch comparison above confirms.
  @Test(arguments: cases)
  func checkBackendPasses(_ fixture: Case) throws {
    let result = try runEntk([
      "check-backend", "--backend", "onnx", "--model", TestEnvironment.fixture("onnx/\(fixture.file)").path,
      "--data", TestEnvironment.repositoryRoot.appendingPathComponent("examples/digits/test_x.npy").path,
    ])
    #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
  }
}
