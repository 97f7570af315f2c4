import EntkTestSupport
import Foundation
import Testing

@testable import ONNXBackend

/// Reading the initializers' `raw_data` from the file's own bytes (`DetachedWeights`) gives the
/// graph protobuf-c gives when it unpacks the whole message.
struct DetachedWeightsTests {
  static let models =
    (try? FileManager.default.contentsOfDirectory(
      atPath: TestEnvironment.fixture("onnx").path))?.filter { $0.hasSuffix(".onnx") }.sorted() ?? []

  @Test func everyFixtureModelIsChecked() throws {
    #expect(Self.models.count >= 20)
    // Most of a BERT fixture is its weights (the rest is mostly Constant nodes).
    let bytes = [UInt8](try Data(contentsOf: TestEnvironment.fixture("onnx/bert-legacy14.onnx")))
    let detached = try #require(bytes.withUnsafeBytes { DetachedWeights($0) })
    #expect(detached.rawData.contains { ($0?.count ?? 0) > 4096 })
    #expect(detached.message.count < bytes.count / 2)
  }

  @Test(arguments: models)
  func detachedWeightsGiveTheWholeUnpacksGraph(_ file: String) throws {
    let bytes = [UInt8](try Data(contentsOf: TestEnvironment.fixture("onnx/\(file)")))
    let detached = try #require(bytes.withUnsafeBytes { DetachedWeights($0) })
    // The cut message holds no weight bytes (models with typed data fields have none to cut).
    let cut = detached.rawData.reduce(0) { $0 + ($1?.count ?? 0) }
    #expect(detached.message.count <= bytes.count - cut)
    try Self.expectSameGraph(bytes, file)
  }

  /// An unknown field is kept; a second graph field (protobuf merges the two) and a truncated
  /// length are left to protobuf-c, whatever it makes of them.
  @Test func unexpectedFramingFallsBackToTheWholeUnpack() throws {
    let bytes = [UInt8](try Data(contentsOf: TestEnvironment.fixture("onnx/mlp-legacy.onnx")))
    let unknownField = bytes + [0x98, 0x06, 0x01]  // field 99, varint 1
    #expect(unknownField.withUnsafeBytes { DetachedWeights($0) } != nil)
    try Self.expectSameGraph(unknownField, "unknown field")

    let secondGraph = bytes + [0x3a, 0x00]  // field 7 (graph), an empty message
    #expect(secondGraph.withUnsafeBytes { DetachedWeights($0) } == nil)
    try Self.expectSameGraph(secondGraph, "second graph")

    let truncated = Array(bytes.dropLast(5))
    #expect(truncated.withUnsafeBytes { DetachedWeights($0) } == nil)
    #expect(throws: ONNXError.self) { try ModelLoader.parse(bytes: truncated, path: "truncated.onnx") }
    let group = bytes + [0x9b, 0x06]  // field 99, wire type 3 (start group)
    #expect(group.withUnsafeBytes { DetachedWeights($0) } == nil)
  }

  /// Parses `bytes` both ways and compares initializers bit for bit, and the nodes.
  static func expectSameGraph(_ bytes: [UInt8], _ label: String) throws {
    let detached = try ModelLoader.parse(bytes: bytes, path: label)
    let whole = try ModelLoader.parse(bytes: bytes, path: label, detachingWeights: false)
    #expect(detached.initializerNames == whole.initializerNames, "\(label)")
    for name in whole.initializerNames {
      let (a, b) = (try #require(detached.initializers[name]), try #require(whole.initializers[name]))
      #expect(a.shape == b.shape, "\(label): \(name)")
      switch (a.elements, b.elements) {
      case (.float(let x), .float(let y)): #expect(x.map(\.bitPattern) == y.map(\.bitPattern), "\(label): \(name)")
      default: #expect(a == b, "\(label): \(name)")
      }
    }
    #expect(detached.nodes.map(\.name) == whole.nodes.map(\.name), "\(label)")
    #expect(detached.nodes.map(\.attributes) == whole.nodes.map(\.attributes), "\(label)")
    #expect(detached.inputs.map(\.name) == whole.inputs.map(\.name), "\(label)")
  }
}
