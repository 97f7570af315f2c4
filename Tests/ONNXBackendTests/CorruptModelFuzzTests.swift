import EntkTestSupport
import Foundation
import Testing

@testable import ONNXBackend

/// Seeded byte-level corruption of real models must never trap.
///
/// Whatever `open` and a forward/reverse pass make of a damaged file, they return a model or
/// an error. A trap would kill this test process, which is how a failure shows.
struct CorruptModelFuzzTests {
  @Test(arguments: ["mlp-legacy.onnx", "cnn-dynamo.onnx", "resnet-legacy.onnx", "transformer-legacy.onnx"])
  func corruptedModelsNeverTrap(_ file: String) throws {
    let original = [UInt8](try Data(contentsOf: TestEnvironment.fixture("onnx/\(file)")))
    var state: UInt64 = 0x9E37_79B9_7F4A_7C15 &* UInt64(file.utf8.count)
    func next(_ bound: Int) -> Int {
      state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
      return Int((state >> 33) % UInt64(bound))
    }
    var opened = 0
    var rejected = 0
    for _ in 0..<150 {
      var bytes = original
      for _ in 0..<(1 + next(4)) {
        let position = next(bytes.count)
        switch next(3) {
        case 0: bytes[position] = UInt8(next(256))
        case 1: bytes[position] ^= UInt8(1 << next(8))
        default: bytes.removeSubrange(position..<min(bytes.count, position + 1 + next(16)))
        }
        if bytes.isEmpty { bytes = [0] }
      }
      do {
        let graph = try ModelLoader.parse(bytes: bytes, path: "/nonexistent/fuzz/\(file)")
        let model = try ONNXModel(graph: graph, path: "fuzz", options: ModelOptions())
        let inputs = [Float](repeating: 0.5, count: model.inputs[0].size)
        var logits = [Float](repeating: 0, count: model.outputCount)
        var gradients = [Float](repeating: 0, count: model.parameterCount)
        let cotangents = [Float](repeating: 1, count: model.outputCount)
        try inputs.withUnsafeBufferPointer { x in
          try logits.withUnsafeMutableBufferPointer { try model.forward(x, count: 1, logits: $0, embedding: nil) }
          try cotangents.withUnsafeBufferPointer { u in
            try gradients.withUnsafeMutableBufferPointer { try model.vjp(x, count: 1, cotangents: u, gradients: $0) }
          }
        }
        opened += 1
      } catch {
        rejected += 1
      }
    }
    #expect(opened + rejected == 150)
    #expect(rejected > 0)
  }
}
