// modules: ONNXBackend
import Foundation

@testable import ONNXBackend

/// The ONNX loader: protobuf-c decoding, graph conversion and validation, then the model's
/// shape inference and parameter discovery, as `open` runs them. External data resolves
/// against an empty scratch folder, so every reference is missing or escaping.
func fuzz(_ bytes: [UInt8]) {
  let folder = FuzzInput.freshFolder()
  let path = folder.appendingPathComponent("model.onnx").path
  guard let graph = try? ModelLoader.parse(bytes: bytes, path: path) else { return }
  _ = try? ONNXModel(graph: graph, path: path, options: ModelOptions())
}
