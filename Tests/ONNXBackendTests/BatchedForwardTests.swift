import ArrayIO
import EntkTestSupport
import Foundation
import Testing

@testable import ONNXBackend

/// `forward` runs several samples through the graph at once only when that gives each sample its
/// own result: checked against one-sample-at-a-time runs, and refused for graphs that mix samples.
struct BatchedForwardTests {
  /// One sample at a time through `forward`: the reference the batched pass must reproduce.
  static func oneByOne(_ model: ONNXModel, _ inputs: [Float]) throws -> (logits: [Float], embedding: [Float]) {
    let n = inputs.count / model.inputs[0].size
    var logits: [Float] = []
    var embedding: [Float] = []
    for i in 0..<n {
      var l = [Float](repeating: 0, count: model.outputCount)
      var e = [Float](repeating: 0, count: model.embeddingSize)
      let sample = Array(inputs[(i * model.inputs[0].size)..<((i + 1) * model.inputs[0].size)])
      try sample.withUnsafeBufferPointer { x in
        try l.withUnsafeMutableBufferPointer { l in
          try e.withUnsafeMutableBufferPointer { e in try model.forward(x, count: 1, logits: l, embedding: e) }
        }
      }
      logits += l
      embedding += e
    }
    return (logits, embedding)
  }

  static func batched(_ model: ONNXModel, _ inputs: [Float]) throws -> (logits: [Float], embedding: [Float]) {
    let n = inputs.count / model.inputs[0].size
    var logits = [Float](repeating: 0, count: n * model.outputCount)
    var embedding = [Float](repeating: 0, count: n * model.embeddingSize)
    try inputs.withUnsafeBufferPointer { x in
      try logits.withUnsafeMutableBufferPointer { l in
        try embedding.withUnsafeMutableBufferPointer { e in try model.forward(x, count: n, logits: l, embedding: e) }
      }
    }
    return (logits, embedding)
  }

  static func expectClose(_ a: [Float], _ b: [Float], _ what: String) {
    #expect(a.count == b.count, "\(what): \(a.count) and \(b.count) values")
    let worst = zip(a, b).map { abs($0 - $1) / (1 + abs($1)) }.max() ?? 0
    #expect(worst <= 1e-5, "\(what): batched and one-by-one differ by \(worst) (relative)")
  }

  /// The digits-style fixtures of both exporters take batches; the nn.Transformer encoder
  /// fixture (sequence-first layout) and the recurrent one keep whatever the probe decides, and
  /// either way give every sample its own result.
  @Test(
    arguments: ["mlp", "cnn", "resnet", "transformer", "encoder", "recurrent"].flatMap { m in
      ["legacy", "dynamo"].map { "\(m)-\($0)" }
    })
  func batchedForwardEqualsOneSampleAtATime(_ name: String) throws {
    let model = try ONNXModel(path: TestEnvironment.fixture("onnx/\(name).onnx").path)
    if ["mlp", "cnn", "resnet"].contains(where: name.hasPrefix) {
      #expect(model.batchedForwardSamples > 1, "\(name) should run batches")
    }
    let inputs = try NPYFile.read(TestEnvironment.fixture("onnx/\(name.split(separator: "-")[0])-inputs.npy"))
      .float32Values()
    let reference = try Self.oneByOne(model, inputs)
    let result = try Self.batched(model, inputs)
    Self.expectClose(result.logits, reference.logits, "\(name) logits")
    Self.expectClose(result.embedding, reference.embedding, "\(name) embedding")
  }

  /// x [n, 3] → MatMul W [3, 2] → Softmax over `axis`: with axis 0 the samples mix.
  static func softmaxGraph(axis: Int) -> Graph {
    let weight = Tensor(shape: [3, 2], floats: [0.5, -1, 2, 0.25, -0.75, 1.5])
    return Graph(
      nodes: [
        Node(name: "mm", opType: "MatMul", domain: "", inputs: ["x", "w"], outputs: ["h"], attributes: [:]),
        Node(
          name: "softmax", opType: "Softmax", domain: "", inputs: ["h"], outputs: ["y"],
          attributes: ["axis": .int(Int64(axis))]),
      ],
      initializerNames: ["w"], initializers: ["w": weight],
      inputs: [ValueInfo(name: "x", elementType: 1, shape: [nil, 3], isTensor: true)],
      outputs: [ValueInfo(name: "y", elementType: 1, shape: nil, isTensor: true)], opset: 13)
  }

  @Test func aGraphThatMixesSamplesRunsOneSampleAtATime() throws {
    let inputs: [Float] = [1, 2, 3, -1, 0.5, 2, 0, 0, 1]
    let mixing = try ONNXModel(graph: Self.softmaxGraph(axis: 0), path: "softmax-axis0")
    #expect(mixing.batchedForwardSamples == 1)
    // Softmax over the batch axis of one sample is 1 for every logit.
    #expect(try Self.batched(mixing, inputs).logits == [Float](repeating: 1, count: 6))

    let separate = try ONNXModel(graph: Self.softmaxGraph(axis: 1), path: "softmax-axis1")
    #expect(separate.batchedForwardSamples > 1)
    Self.expectClose(try Self.batched(separate, inputs).logits, try Self.oneByOne(separate, inputs).logits, "softmax")
  }
}

/// A model opened again in the same process is a copy of the first (parsed and probed once), yet
/// each copy owns its parameters, and a file changed on disk is read again.
struct OpenedModelsTests {
  @Test func copiesShareTheFileButNotTheParameters() throws {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("entk-opened-\(getpid())")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }
    let file = folder.appendingPathComponent("mlp.onnx")
    try FileManager.default.copyItem(at: TestEnvironment.fixture("onnx/mlp-legacy.onnx"), to: file)

    let first = try ONNXModel.open(path: file.path)
    let second = try ONNXModel.open(path: file.path)
    #expect(first !== second)
    let original = first.parameters()
    #expect(second.parameters() == original)
    try [Float](repeating: 0.5, count: first.parameterCount).withUnsafeBufferPointer { try first.setParameters($0) }
    #expect(second.parameters() == original, "setting one copy's parameters changed the other's")
    #expect(try ONNXModel.open(path: file.path).parameters() == original)

    // Another model under the same name (a different file size): read anew, not the kept copy.
    try FileManager.default.removeItem(at: file)
    try FileManager.default.copyItem(at: TestEnvironment.fixture("onnx/cnn-legacy.onnx"), to: file)
    let replaced = try ONNXModel.open(path: file.path)
    #expect(replaced.parameterCount != first.parameterCount)
  }
}
