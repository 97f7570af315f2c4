import BackendLoader
import Conformance
import EntkTestSupport
import Foundation
import Testing

/// The header's struct_size rule, checked by `check-backend`'s `struct-size-first-version`: each
/// way of breaking the rule fails the check with a message naming the call, the size and what
/// went wrong.
@Suite struct FirstStructSizeTests {
  // The ABI 1.1 entk_group_factor ends after output_dim: 4 × 8 bytes on LP64.
  @Test(arguments: [
    ("BREAK_WRITES_PAST_STRUCT_SIZE", "group_factor(0) with struct_size 32 wrote byte 32, past the caller's struct"),
    ("BREAK_REFUSES_FIRST_STRUCT_SIZE", "group_factor(0) with struct_size 32: "),
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
