import ArrayIO
import EntkTestSupport
import Foundation
import Testing

@testable import BackendLoader

/// The ABI 1.3 path through the loader: a model of two int64 inputs (the token-count backend).
@Suite struct MultiInputTests {
  let library: BackendLibrary
  let model: BackendModel

  init() throws {
    let url = try TokenBackend.compile()
    library = try BackendLibrary(url: url)
    model = try library.open(model: url.path)
  }

  /// The fixture's train split as owned arrays.
  func trainArrays() throws -> (InputArrays, ids: [Int64], masks: [Int64]) {
    let ids = try NPYFile.read(TokenBackend.data("train_ids.npy")).int64Values()
    let masks = try NPYFile.read(TokenBackend.data("train_mask.npy")).int64Values()
    let bytes = [ids.withUnsafeBytes { [UInt8]($0) }, masks.withUnsafeBytes { [UInt8]($0) }]
    return (InputArrays(inputs: model.description.inputs, count: ids.count / 4, bytes: bytes), ids, masks)
  }

  @Test func describesEachInputByNameTypeAndShape() {
    let d = model.description
    #expect(
      d.inputs == [
        ModelInput(name: "input_ids", elementType: .int64, shape: [4]),
        ModelInput(name: "attention_mask", elementType: .int64, shape: [4]),
      ])
    #expect(d.singleFloatInput == nil)
    #expect(d.inputSummary == "'input_ids' (int64 [4]), 'attention_mask' (int64 [4])")
  }

  @Test func forwardAndJacobianFollowTheClosedForm() throws {
    let (arrays, ids, masks) = try trainArrays()
    let theta = try model.parameters().map(Double.init)
    let counts = TokenBackend.counts(ids: ids, masks: masks)
    let logits = try model.forward(arrays.batch).logits
    let jacobian = try model.jacobian(arrays.batch)
    let (c, p, v) = (TokenBackend.classes, 14, TokenBackend.vocabulary)
    for (i, n) in counts.enumerated() {
      for k in 0..<c {
        let expected = theta[v * c + k] + (0..<v).reduce(0.0) { $0 + n[$1] * theta[$1 * c + k] }
        #expect(abs(Double(logits[i * c + k]) - expected) < 1e-5)
        for token in 0..<v {
          #expect(Double(jacobian[(i * c + k) * p + token * c + k]) == n[token])
        }
      }
    }
    // One sample at a time gives the same rows: each sample's own.
    let single = try model.forward(arrays.batch(2..<3)).logits
    #expect(single == Array(logits[4..<6]))
  }

  @Test func aTokenOutsideTheVocabularyIsRefusedByName() throws {
    var ids = [Int64](repeating: 1, count: 8)
    ids[6] = 9
    let masks = [Int64](repeating: 1, count: 8)
    let arrays = InputArrays(
      inputs: model.description.inputs, count: 2,
      bytes: [ids.withUnsafeBytes { [UInt8]($0) }, masks.withUnsafeBytes { [UInt8]($0) }])
    #expect {
      _ = try model.forward(arrays.batch)
    } throws: { error in
      guard case BackendCallError.failed(_, "forward", .invalidArgument, let message) = error else { return false }
      return message.contains("input_ids: sample 1 token 2 is 9")
    }
  }

  @Test func floatCallsOnATwoInputModelAreRefusedByTheHost() throws {
    #expect(throws: BackendCallError.notSingleFloatInput(call: "forward", inputs: model.description.inputSummary)) {
      _ = try model.forward([Float](repeating: 0, count: 8), count: 2)
    }
    // A batch made for other inputs never reaches the backend.
    let other = InputArrays(ModelInput(name: "x", elementType: .float32, shape: [4]), floats: [0, 0, 0, 0])
    #expect {
      _ = try model.forward(other.batch)
    } throws: { error in
      guard case BackendCallError.shapeMismatch("forward", let expected, _) = error else { return false }
      return expected.contains("input_ids")
    }
  }

  @Test func slotsThatMustComeTogetherAreCheckedAtLoad() throws {
    for defect in ["BREAK_INPUT_SLOTS_HALF", "BREAK_JACOBIAN_TWIN"] {
      let url = try TokenBackend.compile(defect)
      #expect {
        _ = try BackendLibrary(url: url)
      } throws: { error in
        guard case BackendLoadError.slotsInconsistent(_, let reason) = error else { return false }
        return defect == "BREAK_INPUT_SLOTS_HALF"
          ? reason.contains("input_info, forward_inputs and vjp_inputs") : reason.contains("jacobian_inputs is NULL")
      }
    }
  }

  @Test func anOlderBackendDescribesOneFloatInput() throws {
    let linear = try BackendLibrary.load("example-c")
    let opened = try linear.open(model: TestEnvironment.fixture("example-c-mlp").path)
    #expect(opened.description.inputs.count == 1)
    #expect(opened.description.singleFloatInput?.name == "input")
  }

  @Test func theTableIsASumOfOneHotTermsInTheRowLayout() throws {
    let layout = try #require(model.factorLayout)
    // Table: 4 indices, then Δ of C × R × O = 2 × 4 × 2; bias: a = [1], then Δ of 2 × 2.
    #expect(
      layout.segments == [
        .summed(
          FactorLayout.Summed(inputs: 0..<4, deltas: 4..<20, terms: 4, inputDim: 6, outputDim: 2, oneHot: true)),
        .factored(input: 20..<21, deltas: 21..<25),
      ])
    #expect(layout.rowLength == 25)
    let (arrays, ids, masks) = try trainArrays()
    let rows = try model.factoredJacobian(arrays.batch)
    // The indices are the unmasked ids, -1 where the mask is 0.
    for sample in 0..<arrays.count {
      for t in 0..<4 {
        let expected = masks[sample * 4 + t] == 1 ? Float(ids[sample * 4 + t]) : -1
        #expect(rows[sample * 25 + t] == expected)
      }
    }
  }

  @Test func summedFactorsThatBreakTheRulesAreRefused() throws {
    let d = model.description
    for (factor, message) in [
      (FactorLayout.GroupFactor(inputDim: 6, outputDim: 2, terms: 0), "gives terms 0"),
      (FactorLayout.GroupFactor(inputDim: 5, outputDim: 3, terms: 2), "input_dim 5 × output_dim 3"),
    ] {
      #expect {
        _ = try FactorLayout(description: d, factors: [factor, nil], plainReasons: [nil, nil], backend: "tokens")
      } throws: { error in
        "\(error)".contains(message)
      }
    }
  }
}
