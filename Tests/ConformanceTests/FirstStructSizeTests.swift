import BackendLoader
import Conformance
import EntkTestSupport
import Foundation
import Testing

/// The header's struct_size rule, checked by `check-backend`'s `struct-size-first-version`: every
/// backend of this repository serves each caller-allocated struct at its first version's size
/// (guard bytes after it stay untouched), and each way of breaking the rule fails the check with
/// a message naming the call, the size and what went wrong.
@Suite struct FirstStructSizeTests {
  /// A backend of this repository and a model it opens.
  static func model(_ backend: String) throws -> BackendModel {
    switch backend {
    case "example-c":
      return try BackendLibrary.load("example-c").open(model: TestEnvironment.fixture("example-c-mlp").path)
    case "onnx":
      return try BackendLibrary.load("onnx").open(model: TestEnvironment.fixture("onnx/mlp-legacy.onnx").path)
    case "swiftnet":
      return try BackendLibrary.load("swiftnet").open(model: TestEnvironment.fixture("swiftnet-mlp").path)
    case "tokens":
      let url = try TokenBackend.compile()
      return try BackendLibrary(url: url).open(model: url.path)
    default:
      let url = try LinearBackend.compile()
      return try BackendLibrary(url: url).open(model: url.path)
    }
  }

  @Test(arguments: ["example-c", "onnx", "swiftnet", "tokens", "linear"])
  func everyBackendServesTheFirstVersionOfEachStruct(_ backend: String) throws {
    #expect(try Self.model(backend).probeFirstStructSizes() == [])
  }

  // On LP64 the ABI 1.0 entk_model_info ends after num_param_groups: struct_size, input_rank and
  // its padding, 8 shape entries and 4 counts are 8 + 8 + 64 + 32 = 112 bytes. The ABI 1.1
  // entk_group_factor ends after output_dim: 4 × 8 bytes.
  @Test(arguments: [
    ("BREAK_DESCRIBE_PAST_STRUCT_SIZE", "describe with struct_size 112 wrote byte 112, past the caller's struct"),
    ("BREAK_WRITES_PAST_STRUCT_SIZE", "group_factor(0) with struct_size 32 wrote byte 32, past the caller's struct"),
    (
      "BREAK_REFUSES_FIRST_STRUCT_SIZE",
      "group_factor(0) refused struct_size 32, its first version's size, which every backend must serve"
    ),
  ])
  func aBrokenRuleFailsTheCheckNamingTheCall(_ defect: String, _ message: String) throws {
    let url = try LinearBackend.compile(defect)
    let checks = BackendConformance(library: try BackendLibrary(url: url), modelPath: url.path).run()
    let check = try #require(checks.first { $0.name == "struct-size-first-version" })
    #expect(check.outcome == .failed, "\(defect)")
    #expect(check.detail.contains(message), "\(defect): \(check.detail)")
    for other in checks where other.name != "struct-size-first-version" {
      #expect(other.outcome != .failed, "\(defect) also failed \(other.name): \(other.detail)")
    }
  }
}
