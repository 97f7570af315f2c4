import CEntkABI
import EntkTestSupport
import Foundation
import Testing

@testable import ONNXBackend

/// The ABI 1.3 table slots for models with several typed inputs (`input_info`, `forward_inputs`,
/// `vjp_inputs`, `jacobian_inputs`, `factored_jacobian_inputs`), the struct_size rule for
/// `entk_input_info` and `entk_model_info.num_inputs`, and the ABI 1.0 slots' refusal of models
/// that are not one float32 input.
struct InputSlotTests {
  static var bert: String { TestEnvironment.fixture("onnx/bert-legacy14.onnx").path }
  static let options = TextFixtureTests.options
  static let bertCase = TextFixtureTests.Case(model: "bert", export: "legacy14")

  static func structSize<T, F>(_ keyPath: KeyPath<T, F>) -> Int {
    (MemoryLayout<T>.offset(of: keyPath) ?? .max) + MemoryLayout<F>.size
  }

  @Test func tableFillsTheWholeABI13TableWithoutTraining() throws {
    let api = try #require(entkBackendV1()).pointee
    #expect(api.abi_version_minor == 3)
    #expect(api.struct_size == Self.structSize(\entk_backend_api.factored_vjp_inputs))
    #expect(api.input_info != nil && api.forward_inputs != nil && api.vjp_inputs != nil)
    #expect(api.jacobian_inputs != nil && api.factored_jacobian_inputs != nil && api.factored_vjp_inputs != nil)
    #expect(api.train == nil && api.train_inputs == nil)
  }

  @Test func inputInfoNamesEveryInputWithTypeAndShape() throws {
    let slots = try InputSlots(path: Self.bert, options: Self.options)
    var described: [(String, Int32, [Int64])] = []
    for index in 0..<3 {
      let info = try slots.inputInfo(index)
      let shape = withUnsafeBytes(of: info.shape) { Array($0.bindMemory(to: Int64.self)) }
      described.append((info.name.map { String(cString: $0) } ?? "", info.element_type, shape))
      #expect(info.rank == 1)
    }
    let zeros = [Int64](repeating: 0, count: 7)
    #expect(described.map(\.0) == ["input_ids", "attention_mask", "token_type_ids"])
    #expect(described.allSatisfy { $0.1 == ENTK_ELEMENT_INT64.rawValue && $0.2 == [8] + zeros })
    for bad in [-1, 3] {
      #expect(throws: InputSlots.Failure.self) { _ = try slots.inputInfo(bad) }
    }
  }

  /// The callee writes nothing beyond `struct_size` and refuses one below the first version's.
  @Test func inputInfoFollowsTheStructSizeRule() throws {
    let slots = try InputSlots(path: Self.bert, options: Self.options)
    let slot = try #require(slots.api.input_info)
    let first = Self.structSize(\entk_input_info.shape)
    let guardBytes = 32
    let raw = UnsafeMutableRawPointer.allocate(byteCount: first + guardBytes, alignment: 16)
    defer { raw.deallocate() }
    for size in [first, first - 1, MemoryLayout<Int>.size] {
      raw.initializeMemory(as: UInt8.self, repeating: 0xA5, count: first + guardBytes)
      raw.storeBytes(of: size, as: Int.self)
      let info = raw.assumingMemoryBound(to: entk_input_info.self)
      var error = [CChar](repeating: 0, count: 256)
      let status = slot(slots.model, 1, info, &error, error.count)
      let after = UnsafeRawBufferPointer(start: raw + first, count: guardBytes)
      #expect(after.allSatisfy { $0 == 0xA5 }, "struct_size \(size): bytes after the struct were written")
      if size == first {
        #expect(status == ENTK_OK)
        #expect(String(cString: try #require(info.pointee.name)) == "attention_mask")
      } else {
        #expect(status == ENTK_STATUS_INVALID_ARGUMENT)
        #expect(InputSlots.text(error).contains("struct_size"))
        let body = UnsafeRawBufferPointer(start: raw + MemoryLayout<Int>.size, count: first - MemoryLayout<Int>.size)
        #expect(body.allSatisfy { $0 == 0xA5 }, "struct_size \(size): refused, yet written")
      }
    }
  }

  /// `num_inputs` (ABI 1.3) reaches only callers whose struct_size covers it; `input_rank` and
  /// `input_shape` describe input 0.
  @Test func describeReportsTheInputCountToCallersThatKnowIt() throws {
    let slots = try InputSlots(path: Self.bert, options: Self.options)
    #expect(try slots.describe().num_inputs == 3)
    var older = entk_model_info()
    older.struct_size = Self.structSize(\entk_model_info.num_param_groups)
    older.num_inputs = -7
    try InputSlots.checked { slots.api.describe(slots.model, &older, $0, $1) }
    #expect(older.num_inputs == -7)
    #expect(older.input_rank == 1 && older.input_shape.0 == 8 && older.input_shape.1 == 0)
  }

  @Test func forwardInputsIsTheModelsForwardAndVJPRowsAreJacobianRows() throws {
    let slots = try InputSlots(path: Self.bert, options: Self.options)
    let (inputs, n) = try TextFixtureTests.inputs(Self.bertCase)
    let buffers = inputs.map { InputSlots.Buffer.int64($0) }
    let model = try ONNXModel(path: Self.bert, options: ModelOptions(json: Self.options))
    var direct = [Float](repeating: .nan, count: n * model.outputCount)
    try InputSlots.withPointers(buffers) { pointers in
      try direct.withUnsafeMutableBufferPointer {
        try model.forward(pointers, count: n, logits: $0, embedding: nil)
      }
    }
    #expect(try slots.forward(buffers, count: n) == direct)

    let (c, p) = (model.outputCount, model.parameterCount)
    let jacobian = try slots.jacobian(buffers, count: n)
    for cls in 0..<c {
      var cotangents = [Float](repeating: 0, count: n * c)
      for i in 0..<n { cotangents[i * c + cls] = 1 }
      let gradients = try slots.vjp(buffers, count: n, cotangents: cotangents)
      for i in 0..<n {
        let row = Array(jacobian[((i * c + cls) * p)..<((i * c + cls + 1) * p)])
        let vjp = Array(gradients[(i * p)..<((i + 1) * p)])
        #expect(FactorSlots.relativeDifference(vjp, row) <= 1e-6, "sample \(i), class \(cls)")
      }
    }
  }

  /// forward, vjp, jacobian and factored_jacobian take one float buffer: a model with other inputs
  /// refuses them and says what it takes.
  @Test func abi10SlotsRefuseAModelWithTypedInputsNamingThem() throws {
    let slots = try InputSlots(path: Self.bert, options: Self.options)
    let api = slots.api
    let info = try slots.describe()
    let floats = [Float](repeating: 0, count: 8)
    var out = [Float](repeating: 0, count: Int(info.num_outputs * info.num_params))
    let cotangents = [Float](repeating: 1, count: Int(info.num_outputs))
    let calls: [(String, (UnsafeMutablePointer<CChar>, Int) -> entk_status)] = [
      ("forward", { api.forward(slots.model, floats, 1, &out, nil, $0, $1) }),
      ("vjp", { api.vjp(slots.model, floats, 1, cotangents, &out, $0, $1) }),
      ("jacobian", { api.jacobian!(slots.model, floats, 1, &out, $0, $1) }),
      ("factored_jacobian", { api.factored_jacobian!(slots.model, floats, 1, &out, $0, $1) }),
    ]
    for (name, call) in calls {
      do {
        try InputSlots.checked(call)
        Issue.record("\(name) ran a model of three int64 inputs on one float buffer")
      } catch {
        #expect(error.status == ENTK_STATUS_INVALID_ARGUMENT, "\(name)")
        #expect(
          error.message.contains("input_ids (int64 [8]), attention_mask (int64 [8]), token_type_ids (int64 [8])"),
          "\(name): \(error.message)")
      }
    }
  }

  @Test func badCountsAndANullInputArrayAreRefused() throws {
    let slots = try InputSlots(path: Self.bert, options: Self.options)
    let (inputs, _) = try TextFixtureTests.inputs(Self.bertCase)
    for n in [0, -1] {
      #expect {
        _ = try slots.forward(inputs.map { .int64($0) }, count: n)
      } throws: { ($0 as? InputSlots.Failure)?.message.contains("n must be") == true }
    }
    let slot = try #require(slots.api.forward_inputs)
    var logits = [Float](repeating: 0, count: 3)
    #expect {
      try InputSlots.checked { slot(slots.model, nil, 1, &logits, nil, $0, $1) }
    } throws: { ($0 as? InputSlots.Failure)?.status == ENTK_STATUS_INVALID_ARGUMENT }
  }

  /// A model of one float32 input answers both slot families alike.
  @Test func aFloatModelAnswersTheABI13SlotsAsTheABI10Ones() throws {
    let path = TestEnvironment.fixture("onnx/mlp-legacy.onnx").path
    let slots = try InputSlots(path: path)
    let info = try slots.inputInfo(0)
    #expect(info.element_type == ENTK_ELEMENT_FLOAT32.rawValue && info.rank == 3)
    #expect(try slots.describe().num_inputs == 1)
    let x: [Float] = (0..<(2 * 64)).map { i in Float((i * 37) % 11) / 11 - 0.5 }
    var legacy = [Float](repeating: .nan, count: 20)
    try InputSlots.checked { slots.api.forward(slots.model, x, 2, &legacy, nil, $0, $1) }
    #expect(try slots.forward([.float32(x)], count: 2) == legacy)
  }

  /// int-input.onnx: logits = float(tokens) · W with W[i][j] = 0.1·(3i + j) (the generator's
  /// weight), fed int64 tokens the model only casts (so any value goes).
  @Test func integerInputsTheModelCastsAreFedAsGiven() throws {
    let slots = try InputSlots(path: TestEnvironment.fixture("onnx/int-input.onnx").path)
    let info = try slots.inputInfo(0)
    #expect(String(cString: try #require(info.name)) == "tokens")
    #expect(info.element_type == ENTK_ELEMENT_INT64.rawValue && info.shape.0 == 4)
    let tokens: [Int64] = [3, -2, 0, 7, 1_000_000, 1, 1, 1]
    let logits = try slots.forward([.int64(tokens)], count: 2)
    for i in 0..<2 {
      for j in 0..<3 {
        var expected: Float = 0
        for k in 0..<4 {
          let weight = Float(0.1) * Float(3 * k + j)
          expected += Float(tokens[i * 4 + k]) * weight
        }
        #expect(abs(logits[i * 3 + j] - expected) <= 1e-5 * max(1, abs(expected)), "sample \(i), logit \(j)")
      }
    }
  }
}
