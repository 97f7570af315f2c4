import ArrayIO
import EntkTestSupport
import Foundation
import Testing

@testable import ONNXBackend

/// The factored rows (`factored_jacobian`, `factored_vjp`) from batched passes against the same
/// model opened with `"batching": "off"` (one sample a pass): each sample's rows agree within
/// float32 rounding, for float and token inputs, plain and factored groups, convolution sums and
/// position embeddings shared by every sample of a batch.
struct BatchedReverseTests {
  struct Case: CustomTestStringConvertible, Sendable {
    var file: String
    var options: String = "{}"
    /// Whether the probe at open must allow batched reverse passes.
    var batches: Bool
    var testDescription: String { "\(file) \(options)" }
  }

  static let cases: [Case] =
    ["mlp", "cnn", "resnet"].flatMap { m in ["legacy", "dynamo"].map { Case(file: "\(m)-\($0)", batches: true) } }
    + [
      Case(file: "cnn-legacy", options: #"{"conv_factors": "always"}"#, batches: true),
      // A batch-first transformer block; nn.TransformerEncoder exports sequence-first ([L, n, H]).
      Case(file: "transformer-legacy", batches: true), Case(file: "encoder-legacy", batches: false),
      Case(file: "bert-legacy14", options: #"{"dims": {"sequence": 8}}"#, batches: true),
      Case(file: "distilbert-dynamo18", options: #"{"dims": {"sequence": 8}}"#, batches: true),
    ]

  /// The fixture's inputs, one buffer per model input, and their sample count.
  static func inputs(_ model: ONNXModel, _ file: String) throws -> (buffers: [[UInt8]], n: Int) {
    let stem = String(file.split(separator: "-")[0])
    if model.inputs.count == 1, model.inputs[0].elementType == .float32 {
      let x = try NPYFile.read(TestEnvironment.fixture("onnx/\(stem)-inputs.npy"))
      return ([x.float32Values().withUnsafeBytes { Array($0) }], x.shape[0])
    }
    var buffers: [[UInt8]] = []
    var n = 0
    for input in model.inputs {
      let array = try NPYFile.read(TestEnvironment.fixture("onnx/\(stem)-\(input.name).npy"))
      n = array.shape[0]
      buffers.append(try array.int64Values().withUnsafeBytes { Array($0) })
    }
    return (buffers, n)
  }

  /// factored_jacobian rows, then factored_vjp rows for cotangents 1, 2, 3, 1, … of `model`.
  static func rows(_ model: ONNXModel, _ file: String) throws -> [Float] {
    let (buffers, n) = try inputs(model, file)
    var jacobian = [Float](repeating: .nan, count: n * model.factoredRowSize())
    var vjp = [Float](repeating: .nan, count: n * model.factoredRowSize(classes: 1))
    let cotangents = (0..<(n * model.outputCount)).map { Float($0 % 3 + 1) }
    try withPointers(buffers) { pointers in
      try jacobian.withUnsafeMutableBufferPointer { try model.factoredJacobian(pointers, count: n, rows: $0) }
      try cotangents.withUnsafeBufferPointer { u in
        try vjp.withUnsafeMutableBufferPointer { try model.factoredVJP(pointers, count: n, cotangents: u, rows: $0) }
      }
    }
    return jacobian + vjp
  }

  static func withPointers(_ buffers: [[UInt8]], _ body: ([UnsafeRawPointer]) throws -> Void) throws {
    func nest(_ k: Int, _ pointers: [UnsafeRawPointer]) throws {
      guard k < buffers.count else { return try body(pointers) }
      try buffers[k].withUnsafeBytes { bytes in
        let base = try #require(bytes.baseAddress)
        try nest(k + 1, pointers + [base])
      }
    }
    try nest(0, [])
  }

  @Test(arguments: cases)
  func batchedRowsEqualOneSampleAPass(_ fixture: Case) throws {
    let path = TestEnvironment.fixture("onnx/\(fixture.file).onnx").path
    let batched = try ONNXModel(path: path, options: ModelOptions(json: fixture.options))
    var off = try ModelOptions(json: fixture.options)
    off.batching = .off
    let single = try ONNXModel(path: path, options: off)
    #expect((batched.sampleValues != nil) == fixture.batches, "probe's decision for \(fixture.file)")
    #expect(single.sampleValues == nil && single.batchedForwardSamples == 1)
    let expected = try Self.rows(single, fixture.file)
    let rows = try Self.rows(batched, fixture.file)
    let scale = expected.map(abs).max() ?? 0
    let worst = zip(rows, expected).map { abs($0 - $1) }.max() ?? 0
    #expect(
      rows.count == expected.count && worst <= 1e-5 * scale, "\(fixture.file): worst difference \(worst) of \(scale)")
  }

  @Test func batchingOptionIsChecked() {
    #expect(throws: ONNXError.self) { try ModelOptions(json: #"{"batching": "sometimes"}"#) }
    #expect(throws: ONNXError.self) { try ModelOptions(json: #"{"batching": false}"#) }
  }
}
