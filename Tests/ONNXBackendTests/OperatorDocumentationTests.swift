import EntkTestSupport
import Foundation
import Testing

@testable import ONNXBackend

/// docs/onnx-backend.md lists exactly the operators the registry implements.
struct OperatorDocumentationTests {
  @Test func everySupportedOperatorIsDocumented() throws {
    let text = try String(
      contentsOf: TestEnvironment.repositoryRoot.appendingPathComponent("docs/onnx-backend.md"), encoding: .utf8)
    let words = Set(text.split(whereSeparator: { !$0.isLetter && !$0.isNumber }).map(String.init))
    let missing = OperatorRegistry.supportedOperators.filter { !words.contains($0) }
    #expect(missing.isEmpty, "not in docs/onnx-backend.md: \(missing)")
  }
}
