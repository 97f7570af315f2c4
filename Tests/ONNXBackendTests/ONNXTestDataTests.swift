import Foundation
import Testing

@testable import ONNXBackend

/// Runs ONNX's own backend test data (Debian's libonnx-testdata: `node/` and `pytorch-converted/`).
///
/// A case is skipped when the backend rejects it as unsupported (an operator, attribute value or
/// element type it does not implement, found at load time or while running); every other case must
/// match every expected output.
///
/// Tolerance: |entk − expected| ≤ 1e-4 + 1e-3·|expected| (ONNX's own runner uses rtol 1e-3;
/// float32 reference values computed in float64 need the small absolute term near zero).
struct ONNXTestDataTests {
  static let root = URL(fileURLWithPath: "/usr/share/libonnx-testdata/data")

  enum Outcome: Equatable {
    case passed
    case skipped(String)
    case failed(String)
  }

  static func close(_ a: Float, _ b: Float) -> Bool {
    if a.isNaN || b.isNaN { return a.isNaN && b.isNaN }
    if a.isInfinite || b.isInfinite { return a == b }
    return abs(a - b) <= 1e-4 + 1e-3 * abs(b)
  }

  static func compare(_ ours: Tensor, _ expected: Tensor, _ name: String) -> String? {
    guard ours.shape == expected.shape else { return "\(name): shape \(ours.shape), expected \(expected.shape)" }
    switch (ours.elements, expected.elements) {
    case (.float(let a), .float(let b)):
      if let i = a.indices.first(where: { !close(a[$0], b[$0]) }) { return "\(name)[\(i)]: \(a[i]), expected \(b[i])" }
    case (.int64(let a), .int64(let b)):
      if a != b { return "\(name): \(a.prefix(8)), expected \(b.prefix(8))" }
    case (.bool(let a), .bool(let b)):
      if a != b { return "\(name): \(a.prefix(8)), expected \(b.prefix(8))" }
    default:
      return "\(name): type \(ours.typeName), expected \(expected.typeName)"
    }
    return nil
  }

  static func run(_ folder: URL) -> Outcome {
    let graph: Graph
    let interpreter: Interpreter
    do {
      graph = try ModelLoader.load(path: folder.appendingPathComponent("model.onnx").path)
      interpreter = try Interpreter(graph: graph)
    } catch .unsupported(let message) {
      return .skipped(message)
    } catch {
      return .failed("load: \(error)")
    }
    for value in graph.inputs + graph.outputs {
      guard value.isTensor else {
        return .skipped("graph value '\(value.name)' is not a tensor (sequence, map or optional)")
      }
      guard value.elementType == 0 || TensorProtoDecoder.byteWidth(value.elementType) != nil else {
        return .skipped("graph value of element type \(TensorProtoDecoder.typeName(value.elementType))")
      }
    }
    let sets = ((try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? [])
      .filter { $0.hasPrefix("test_data_set_") }.sorted()
    guard !sets.isEmpty else { return .failed("no test data sets") }
    for set in sets {
      let directory = folder.appendingPathComponent(set)
      do {
        var values = graph.initializers
        for (i, input) in graph.inputs.enumerated() {
          values[input.name] = try read(directory.appendingPathComponent("input_\(i).pb"))
        }
        let results = try interpreter.run(values)
        for (i, output) in graph.outputs.enumerated() {
          let expected = try read(directory.appendingPathComponent("output_\(i).pb"))
          guard let ours = results[output.name] else { return .failed("\(set): output '\(output.name)' missing") }
          if let problem = compare(ours, expected, "\(set) \(output.name)") { return .failed(problem) }
        }
      } catch {
        if isUnsupported(error) { return .skipped("\(error)") }
        return .failed("\(set): \(error)")
      }
    }
    return .passed
  }

  static func isUnsupported(_ error: ONNXError) -> Bool {
    switch error {
    case .unsupported: return true
    case .inNode(_, _, let inner): return isUnsupported(inner)
    default: return false
    }
  }

  static func read(_ url: URL) throws(ONNXError) -> Tensor {
    guard let data = FileManager.default.contents(atPath: url.path) else { throw .notFound(url.path) }
    return try TensorProtoDecoder.decodeSerialized([UInt8](data), what: url.lastPathComponent)
  }

  /// The cases of what text-model exports added: IsNaN and IsInf, and float64 Casts (computed in
  /// float32, within the tolerance) run and pass rather than being skipped.
  @Test(arguments: [
    "test_isnan", "test_isinf", "test_isinf_negative", "test_isinf_positive", "test_cast_FLOAT_to_DOUBLE",
    "test_cast_DOUBLE_to_FLOAT", "test_castlike_FLOAT_to_DOUBLE", "test_castlike_DOUBLE_to_FLOAT",
  ])
  func textModelOperatorCasesPass(_ name: String) {
    #expect(Self.run(Self.root.appendingPathComponent("node").appendingPathComponent(name)) == .passed)
  }

  @Test(arguments: ["node", "pytorch-converted"])
  func backendTestDataMatches(_ suite: String) throws {
    let directory = Self.root.appendingPathComponent(suite)
    let cases = try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
    var passed: [String] = []
    var skipped: [String: Int] = [:]
    var failed: [String] = []
    for name in cases {
      switch Self.run(directory.appendingPathComponent(name)) {
      case .passed: passed.append(name)
      case .skipped(let reason): skipped[reason, default: 0] += 1
      case .failed(let reason): failed.append("\(name): \(reason)")
      }
    }
    print(
      "ONNX test data \(suite): \(passed.count) passed, \(skipped.values.reduce(0, +)) skipped as unsupported, \(failed.count) failed (of \(cases.count))"
    )
    for failure in failed { print("  FAILED \(failure)") }
    if ProcessInfo.processInfo.environment["ENTK_ONNX_TESTDATA_VERBOSE"] != nil {
      for (reason, count) in skipped.sorted(by: { $0.value > $1.value }) { print("  skipped \(count)× \(reason)") }
    }
    #expect(failed.isEmpty)
    #expect(!passed.isEmpty)
  }
}
