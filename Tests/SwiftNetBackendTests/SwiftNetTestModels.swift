import ArrayIO
import BackendLoader
import CEntkABI
import EntkTestSupport
import Foundation
import Testing

/// Shared set-up for the swiftnet tests: the backend library, fixture data, and architectures
/// written to temporary folders.
enum SwiftNetTestModels {
  static func library() throws -> BackendLibrary { try BackendLibrary.load("swiftnet") }

  /// The backend's C table, from its library in the products folder (never unloaded).
  static func table() throws -> entk_backend_api {
    let path = TestEnvironment.productsDirectory.appendingPathComponent("libentk-backend-swiftnet.so").path
    let handle = try #require(dlopen(path, RTLD_NOW | RTLD_LOCAL), "\(path): cannot load")
    let entry = try #require(dlsym(handle, ENTK_BACKEND_ENTRY_V1), "\(path): no \(ENTK_BACKEND_ENTRY_V1)")
    let table = try #require(unsafeBitCast(entry, to: entk_backend_v1_fn.self)(), "\(path): entry returned NULL")
    return table.pointee
  }

  /// The float32 values of a fixture `.npy`.
  static func values(_ relativePath: String) throws -> [Float] {
    try NPYFile.read(TestEnvironment.fixture(relativePath)).float32Values()
  }

  /// Writes an architecture with `layers` (JSON text of the layer list) into a fresh folder and
  /// returns the path of its `model.json`.
  static func architecture(inputShape: [Int], layers: String, label: String = #function) throws -> String {
    let folder = try TestEnvironment.temporaryDirectory(label)
    let text = """
      {"format": "entk-swiftnet", "version": 1, "input_shape": \(inputShape), "layers": \(layers)}
      """
    let url = folder.appendingPathComponent("model.json")
    try Data(text.utf8).write(to: url)
    return url.path
  }

  /// Seeded standard-normal-ish values (uniform sums), for inputs and cotangents.
  static func seededValues(_ count: Int, seed: UInt64) -> [Float] {
    var state = seed
    return (0..<count).map { _ in
      var sum: Float = 0
      for _ in 0..<4 {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        sum += Float(state >> 40) / Float(1 << 24) - 0.5
      }
      return sum * 1.7
    }
  }
}

extension BackendCallError {
  /// The status of a failed call, for asserting error paths.
  var status: BackendStatus? {
    if case .failed(_, _, let status, _) = self { return status }
    return nil
  }

  var message: String {
    if case .failed(_, _, _, let message) = self { return message }
    return description
  }
}
