import ArrayIO
import CEntkABI
import EntkTestSupport
import Foundation
import Testing

@testable import ONNXBackend

/// Tiny BERT, DistilBERT and RoBERTa classifiers from transformers, exported by both exporters as
/// users export them (int64 input_ids and attention_mask, BERT also token_type_ids; dynamic batch
/// and sequence axes; constant folding off), against PyTorch's float64 logits and per-sample
/// Jacobians (tools/fixtures/export_text_fixtures.py), through the ABI 1.3 slots.
///
/// The batch holds an unpadded sample and two padded at the end (attention_mask 0 there).
/// Tolerance as TorchFixtureTests: |entk − torch| ≤ 1e-4 + 1e-3·|torch|.
struct TextFixtureTests {
  struct Case: CustomTestStringConvertible, Sendable {
    var model: String
    var export: String
    var file: String { "\(model)-\(export).onnx" }
    var testDescription: String { file }
    var inputNames: [String] {
      model == "bert" ? ["input_ids", "attention_mask", "token_type_ids"] : ["input_ids", "attention_mask"]
    }
    /// The dense layers of the classification head, which see one token and so factor.
    var headLayers: [String] {
      switch model {
      case "bert": return ["bert.pooler.dense", "classifier"]
      case "distilbert": return ["pre_classifier", "classifier"]
      default: return ["classifier.dense", "classifier.out_proj"]
      }
    }
  }

  /// Legacy exporter at opsets 14 (15, 16 give the same graph) and 17 (18 too), dynamo at 18 (what
  /// it gives for 14–18), and BERT with eager attention (finfo.min instead of −inf masks).
  static let cases =
    ["bert", "distilbert", "roberta"].flatMap { model in
      ["legacy14", "legacy17", "dynamo18"].map { Case(model: model, export: $0) }
    } + [Case(model: "bert", export: "eager14")]

  /// The fixtures' sequence length, fixed through the `dims` option.
  static let options = #"{"dims": {"sequence": 8}}"#

  struct TorchParameter: Decodable {
    var name: String
    var offset: Int
    var count: Int
    /// The exports whose file holds this parameter under its name, with its values.
    var exports: [String]

    func kept(by export: String) -> Bool { exports.contains(export) }
  }

  static func close(_ a: Float, _ b: Double) -> Bool { Double(abs(Double(a) - b)) <= 1e-4 + 1e-3 * abs(b) }

  static func open(_ fixture: Case) throws -> InputSlots {
    try InputSlots(path: TestEnvironment.fixture("onnx/\(fixture.file)").path, options: options)
  }

  /// The fixture's inputs: one int64 buffer per input, [n, 8] each.
  static func inputs(_ fixture: Case) throws -> (buffers: [[Int64]], n: Int) {
    var buffers: [[Int64]] = []
    var n = 0
    for name in fixture.inputNames {
      let array = try NPYFile.read(TestEnvironment.fixture("onnx/\(fixture.model)-\(name).npy"))
      n = array.shape[0]
      buffers.append(try array.int64Values())
    }
    return (buffers, n)
  }

  @Test(arguments: cases)
  func logitsJacobiansAndFactorsMatchTorch(_ fixture: Case) throws {
    let slots = try Self.open(fixture)
    let (inputs, n) = try Self.inputs(fixture)
    let buffers = inputs.map { InputSlots.Buffer.int64($0) }
    let info = try slots.describe()
    let (c, p) = (Int(info.num_outputs), Int(info.num_params))
    #expect(info.num_inputs == Int64(fixture.inputNames.count))
    #expect(c == 3)
    // The embedding is the classifier's input: the head's hidden vector of the first token.
    #expect(info.embedding_size == 32)

    let torchLogits = try NPYFile.read(TestEnvironment.fixture("onnx/\(fixture.model)-logits.npy")).float64Values()
    let logits = try slots.forward(buffers, count: n)
    #expect(logits.count == torchLogits.count)
    for (i, (ours, theirs)) in zip(logits, torchLogits).enumerated() {
      #expect(Self.close(ours, theirs), "logit \(i): entk \(ours), torch \(theirs)")
    }

    let torchJacobian = try NPYFile.read(TestEnvironment.fixture("onnx/\(fixture.model)-jacobian.npy"))
    let reference = torchJacobian.float32Values()
    let torchP = torchJacobian.shape[2]
    let table = try JSONDecoder().decode(
      [TorchParameter].self, from: Data(contentsOf: TestEnvironment.fixture("onnx/\(fixture.model)-params.json")))
    let groups = try slots.groups()
    let byName = Dictionary(uniqueKeysWithValues: groups.map { ($0.name, $0) })
    let jacobian = try slots.jacobian(buffers, count: n)
    var compared = 0
    for parameter in table where parameter.kept(by: fixture.export) {
      let group = try #require(byName[parameter.name], "\(parameter.name) is not a parameter group")
      #expect(group.count == parameter.count)
      var worst: String? = nil
      for sample in 0..<n {
        for cls in 0..<c {
          for j in 0..<min(group.count, parameter.count) {
            let ours = jacobian[(sample * c + cls) * p + group.offset + j]
            let theirs = Double(reference[(sample * c + cls) * torchP + parameter.offset + j])
            if !Self.close(ours, theirs), worst == nil {
              worst = "sample \(sample), class \(cls), element \(j): entk \(ours), torch \(theirs)"
            }
          }
        }
      }
      if let worst { Issue.record("\(fixture.file) \(parameter.name) \(worst)") }
      compared += 1
    }
    #expect(compared == table.filter { $0.kept(by: fixture.export) }.count)
    #expect(compared >= table.count * 2 / 3)

    // factored_jacobian: the head's dense layers applied to one token factor, the encoder's six
    // dense weights a layer as sums over the 8 tokens (token_factors), and the embedding tables as
    // sums of one-hot terms (one per token read); rebuilt, they are jacobian's columns. A weight
    // under its PyTorch name is stored [O, I]; one the exporter stored anew (pre-transposed for a
    // MatMul) is [I, O]; a table [V, D] is [I, O].
    let factors = try slots.factors()
    let torchNames = Set(table.map(\.name))
    let dense = zip(groups, factors).filter { $1.factored && !$1.oneHot }
    let single = Set(dense.filter { $1.terms == 1 }.map(\.0.name))
    let head = Set(fixture.headLayers.flatMap { ["\($0).weight", "\($0).bias"] })
    #expect(head.isSubset(of: single))
    // The last layer's query, attention-output and feed-forward weights meet the logits at the
    // classifier's token alone: one term each (TermLiveness); its key and value at all 8.
    #expect(single.subtracting(head).count == 4, "\(single.subtracting(head).sorted())")
    let tokenSums = dense.filter { $1.terms > 1 }
    #expect(tokenSums.count == 8 && tokenSums.allSatisfy { $1.terms == 8 && $1.inputDim * $1.outputDim == $0.count })
    let tables = zip(groups, factors).filter { $1.oneHot }.map(\.0.name)
    #expect(!tables.isEmpty && tables.allSatisfy { $0.contains("embeddings") }, "\(tables)")
    #expect(tables.contains { $0.hasSuffix("word_embeddings.weight") })
    let rebuilt = FactorSlots.jacobian(
      fromFactored: try slots.factoredJacobian(buffers, count: n), count: n, classes: c,
      groups: groups.map { ($0.offset, $0.count) }, factors: factors
    ) { g, o, j in
      torchNames.contains(groups[g].name) && !factors[g].oneHot
        ? o * factors[g].inputDim + j : j * factors[g].outputDim + o
    }
    let scale = jacobian.reduce(0) { max($0, abs($1)) }
    let worst = zip(rebuilt, jacobian).enumerated().first { !(abs($1.0 - $1.1) <= 1e-6 * scale) }
    #expect(worst == nil, "rebuilt \(worst.map { "\($0.element.0) at \($0.offset)" } ?? ""), jacobian differs")
  }

  /// A token the attention mask hides changes nothing: replacing the padding ids of the padded
  /// samples by other valid ids gives bit-identical logits, and the word-embedding rows read only
  /// at masked positions get exactly zero gradient (as in PyTorch, whose masked softmax weights
  /// are exactly 0).
  @Test(arguments: cases)
  func maskedTokensChangeNothing(_ fixture: Case) throws {
    let slots = try Self.open(fixture)
    let (inputs, n) = try Self.inputs(fixture)
    let (ids, mask) = (inputs[0], inputs[1])
    let length = ids.count / n
    var replaced = ids
    for i in replaced.indices where mask[i] == 0 { replaced[i] = Int64(17 + i % 50) }
    #expect(replaced != ids)
    var changed = inputs
    changed[0] = replaced
    let original = try slots.forward(inputs.map { .int64($0) }, count: n)
    let hidden = try slots.forward(changed.map { .int64($0) }, count: n)
    #expect(original == hidden)

    let groups = try slots.groups()
    let info = try slots.describe()
    let (c, p) = (Int(info.num_outputs), Int(info.num_params))
    let table = try #require(groups.first { $0.name.hasSuffix("word_embeddings.weight") })
    let width = table.count / 100
    let jacobian = try slots.jacobian(inputs.map { .int64($0) }, count: n)
    for sample in 0..<n {
      let tokens = ids[(sample * length)..<((sample + 1) * length)]
      let visible = Set(zip(tokens, mask[(sample * length)..<((sample + 1) * length)]).filter { $1 == 1 }.map(\.0))
      for row in 0..<100 {
        let entries = (0..<c).flatMap { cls in
          (0..<width).map { jacobian[(sample * c + cls) * p + table.offset + row * width + $0] }
        }
        if visible.contains(Int64(row)) {
          #expect(entries.contains { $0 != 0 }, "sample \(sample): row \(row) of a visible token has no gradient")
        } else {
          #expect(entries.allSatisfy { $0 == 0 }, "sample \(sample): row \(row) (unused or masked) has a gradient")
        }
      }
    }
  }

  /// A token id outside the embedding table, or negative, is refused before anything runs.
  ///
  /// The message names the input, the sample, the position and the value.
  /// (1 − mask)·finfo(float64).min computed in float64 and cast to float32 is −inf in PyTorch and
  /// onnxruntime; the backend computes it in float32 with the constant clamped to float32's
  /// lowest value, so 0·lowest stays 0 (not NaN) and the masked scores get exactly 0 weight.
  /// A host before ABI 1.3 (its `entk_group_factor` ends at `reason`) cannot read sums of terms:
  /// it is told the embedding tables are plain, and the dense layers still factor.
  @Test func olderHostsSeeTheEmbeddingTablesPlain() throws {
    let slots = try Self.open(Self.cases[0])
    let abi12 = (MemoryLayout<entk_group_factor>.offset(of: \.reason) ?? 0) + MemoryLayout<UnsafeRawPointer?>.size
    let older = try slots.factors(structSize: abi12)
    let current = try slots.factors()
    for (old, new) in zip(older, current) {
      #expect(old.factored == (new.factored && !new.oneHot && new.terms == 1))
    }
    #expect(current.contains { $0.oneHot } && older.contains { $0.factored })
  }

  @Test func float64MaskArithmeticGivesOnnxruntimesLogits() throws {
    let slots = try InputSlots(path: TestEnvironment.fixture("onnx/mask-float64.onnx").path)
    let x = try NPYFile.read(TestEnvironment.fixture("onnx/mask-float64-x.npy")).float32Values()
    let mask = try NPYFile.read(TestEnvironment.fixture("onnx/mask-float64-mask.npy")).int64Values()
    let reference = try NPYFile.read(TestEnvironment.fixture("onnx/mask-float64-logits.npy")).float32Values()
    let logits = try slots.forward([.float32(x), .int64(mask)], count: 3)
    for (i, (ours, theirs)) in zip(logits, reference).enumerated() {
      #expect(Self.close(ours, Double(theirs)), "logit \(i): entk \(ours), onnxruntime \(theirs)")
    }
    #expect(try slots.jacobian([.float32(x), .int64(mask)], count: 3).allSatisfy(\.isFinite))
  }

  @Test func float64ValuesNarrowToFloat32WithoutOverflowing() {
    #expect(TensorProtoDecoder.narrowed(-Double.greatestFiniteMagnitude) == -Float.greatestFiniteMagnitude)
    #expect(TensorProtoDecoder.narrowed(1e300) == Float.greatestFiniteMagnitude)
    #expect(TensorProtoDecoder.narrowed(-.infinity) == -Float.infinity)
    #expect(TensorProtoDecoder.narrowed(.nan).isNaN)
    #expect(TensorProtoDecoder.narrowed(0.1) == Float(0.1))
    #expect(TensorProtoDecoder.narrowed(0.25) == 0.25)
  }

  @Test(arguments: ["bert-legacy14", "roberta-dynamo18"])
  func outOfRangeTokenIdsAreRefusedNamingInputSampleAndValue(_ file: String) throws {
    let fixture = try #require(Self.cases.first { $0.file == "\(file).onnx" })
    let slots = try Self.open(fixture)
    let (inputs, n) = try Self.inputs(fixture)
    for (value, position) in [(Int64(100), 3), (-1, 0)] {
      var bad = inputs
      bad[0][8 + position] = value
      #expect {
        _ = try slots.forward(bad.map { .int64($0) }, count: n)
      } throws: { error in
        let failure = error as? InputSlots.Failure
        return failure?.status == ENTK_STATUS_INVALID_ARGUMENT
          && failure?.message.contains("input 'input_ids', sample 1, position \(position): value \(value)") == true
          && failure?.message.contains("0..<100") == true
      }
      #expect(throws: InputSlots.Failure.self) { _ = try slots.jacobian(bad.map { .int64($0) }, count: n) }
    }
    if fixture.model == "bert" {
      var bad = inputs
      bad[2][5] = 2
      #expect {
        _ = try slots.forward(bad.map { .int64($0) }, count: n)
      } throws: { error in
        (error as? InputSlots.Failure)?.message.contains("input 'token_type_ids', sample 0, position 5: value 2")
          == true
      }
    }
  }
}
