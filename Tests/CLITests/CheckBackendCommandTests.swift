import EntkTestSupport
import Foundation
import Testing

@Test func exampleCPassesConformance() throws {
  let result = try runEntk([
    "check-backend", "--backend", "example-c", "--model", TestEnvironment.fixture("example-c-mlp").path,
  ])
  #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
  for check in [
    "abi-table", "open-describe", "forward-deterministic", "forward-batch-invariance", "vjp-finite-differences",
    "error-empty-batch", "struct-size-first-version",
  ] {
    #expect(result.stdout.contains("PASS  \(check)"), "\(check)")
  }
  #expect(!result.stdout.contains("FAIL"))
}

@Test func exampleCPassesConformanceOnGivenData() throws {
  let fixture = TestEnvironment.fixture("example-c-mlp")
  let result = try runEntk([
    "check-backend", "--backend", "example-c", "--model", fixture.path, "--data",
    fixture.appendingPathComponent("inputs.npy").path,
    "--json",
  ])
  #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
  let report = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
  #expect(report["passed"] as? Bool == true)
}

@Test func aWrongGradientFailsTheFiniteDifferenceCheck() throws {
  let library = try LinearBackend.compile("BREAK_GRADIENT")
  let result = try runEntk(["check-backend", "--backend", library.path, "--model", library.path])
  #expect(result.status == 1)
  #expect(result.stdout.contains("FAIL  vjp-finite-differences"))
  #expect(result.stdout.contains("checks failed"))
}

@Test func anABI99BackendIsRefusedWithABackendExitCode() throws {
  let library = try LinearBackend.compile("BREAK_ABI_MAJOR")
  let result = try runEntk(["check-backend", "--backend", library.path, "--model", library.path])
  #expect(result.status == 4)
  #expect(result.stderr.contains("backend implements entk ABI 99, this entk supports ABI 1"))
}

@Test func aBackendWithoutEntrySymbolIsRefused() throws {
  let library = try LinearBackend.compile("BREAK_ENTRY_NAME")
  let result = try runEntk(["check-backend", "--backend", library.path, "--model", library.path])
  #expect(result.status == 4)
  #expect(result.stderr.contains("does not export 'entk_backend_v1'"))
}

@Test func aModelThatDoesNotOpenFailsTheCheck() throws {
  let result = try runEntk(["check-backend", "--backend", "example-c", "--model", "/nonexistent/model"])
  #expect(result.status == 1)
  #expect(result.stdout.contains("FAIL  open-describe"))
}

@Test func corruptDataExitsWithTheInputCode() throws {
  let result = try runEntk([
    "check-backend", "--backend", "example-c", "--model", TestEnvironment.fixture("example-c-mlp").path,
    "--data", TestEnvironment.fixture("npy/f4_truncated.npy").path,
  ])
  #expect(result.status == 3)
  #expect(result.stderr.contains("truncated"))
}
