import EntkTestSupport
import Foundation
import Testing

private func linearBackend(_ defect: String?) throws -> URL {
  try compileCBackend(
    source: "backends/linear_backend.c", libraryName: "libentk-backend-linear.so",
    into: try TestEnvironment.temporaryDirectory(), defines: defect.map { [$0] } ?? [])
}

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

@Test func aBackendBuiltByGccOutsideSwiftPMPassesConformance() throws {
  let library = try linearBackend(nil)
  let result = try runEntk(["check-backend", "--backend", library.path, "--model", library.path])
  #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
}

@Test func aWrongGradientFailsTheFiniteDifferenceCheck() throws {
  let library = try linearBackend("BREAK_GRADIENT")
  let result = try runEntk(["check-backend", "--backend", library.path, "--model", library.path])
  #expect(result.status == 1)
  #expect(result.stdout.contains("FAIL  vjp-finite-differences"))
  #expect(result.stdout.contains("checks failed"))
}

@Test func anABI99BackendIsRefusedWithABackendExitCode() throws {
  let library = try linearBackend("BREAK_ABI_MAJOR")
  let result = try runEntk(["check-backend", "--backend", library.path, "--model", library.path])
  #expect(result.status == 4)
  #expect(result.stderr.contains("backend implements entk ABI 99, this entk supports ABI 1"))
}

@Test func aBackendWithoutEntrySymbolIsRefused() throws {
  let library = try linearBackend("BREAK_ENTRY_NAME")
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

@Test func aReLUResNetPassesOnDefaultInputsDespiteKinksNearTheFiniteDifferenceSteps() throws {
  // With one step size, a BatchNorm bias direction of this model crossed a ReLU corner and failed.
  let result = try runEntk([
    "check-backend", "--backend", "onnx", "--model", TestEnvironment.fixture("onnx/resnet-legacy.onnx").path,
  ])
  #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
  #expect(result.stdout.contains("PASS  vjp-finite-differences"))
}

@Test func factorsAreCheckedAgainstTheJacobian() throws {
  let correct = try linearBackend(nil)
  let passing = try runEntk(["check-backend", "--backend", correct.path, "--model", correct.path])
  #expect(passing.stdout.contains("PASS  factors-vs-jacobian"), "\(passing.stdout)")
  let wrong = try linearBackend("BREAK_FACTOR_VALUES")
  let failing = try runEntk(["check-backend", "--backend", wrong.path, "--model", wrong.path])
  #expect(failing.status == 1)
  #expect(failing.stdout.contains("FAIL  factors-vs-jacobian"), "\(failing.stdout)")
}

@Test func theStructSizeRuleIsCheckedWithAnABI11SizedFactorStruct() throws {
  let correct = try linearBackend(nil)
  let passing = try runEntk(["check-backend", "--backend", correct.path, "--model", correct.path])
  #expect(passing.stdout.contains("PASS  struct-size-first-version"), "\(passing.stdout)")
  // The ABI 1.1 entk_group_factor ends after output_dim: 4 × 8 bytes on LP64.
  let cases = [
    ("BREAK_WRITES_PAST_STRUCT_SIZE", "group_factor(0) with struct_size 32 wrote byte 32, past the caller's struct"),
    ("BREAK_REFUSES_FIRST_STRUCT_SIZE", "group_factor(0) with struct_size 32: "),
  ]
  for (defect, message) in cases {
    let wrong = try linearBackend(defect)
    let failing = try runEntk(["check-backend", "--backend", wrong.path, "--model", wrong.path])
    #expect(failing.status == 1, "\(defect)")
    #expect(failing.stdout.contains("FAIL  struct-size-first-version"), "\(defect): \(failing.stdout)")
    #expect(failing.stdout.contains(message), "\(defect): \(failing.stdout)")
  }
}
