import BackendLoader
import Conformance
import EntkTestSupport
import Foundation
import Testing

/// What `check-backend`'s checks find: correct backends pass every check, and each defect of the
/// C test backends fails the check meant to catch it.
@Suite struct BackendConformanceTests {
  static func failures(_ checks: [ConformanceCheck]) -> [String] {
    checks.filter { $0.outcome == .failed }.map { "\($0.name): \($0.detail)" }
  }

  @Test func aBackendBuiltByCcOutsideSwiftPMPassesEveryCheck() throws {
    let url = try LinearBackend.compile()
    let checks = BackendConformance(library: try BackendLibrary(url: url), modelPath: url.path).run()
    #expect(Self.failures(checks) == [])
    #expect(checks.contains { $0.name == "factors-vs-jacobian" && $0.outcome == .passed })
  }

  @Test func wrongFactorsFailTheirCheckAgainstTheJacobian() throws {
    let url = try LinearBackend.compile("BREAK_FACTOR_VALUES")
    let checks = BackendConformance(library: try BackendLibrary(url: url), modelPath: url.path).run()
    let factors = try #require(checks.first { $0.name == "factors-vs-jacobian" })
    #expect(factors.outcome == .failed, "\(factors.detail)")
  }

  @Test func aReLUResNetPassesOnDefaultInputsDespiteKinksNearTheFiniteDifferenceSteps() throws {
    // With one step size, a BatchNorm bias direction of this model crossed a ReLU corner and failed.
    let checks = BackendConformance(
      library: try BackendLibrary.load("onnx"), modelPath: TestEnvironment.fixture("onnx/resnet-legacy.onnx").path
    ).run()
    #expect(Self.failures(checks) == [])
    #expect(checks.contains { $0.name == "vjp-finite-differences" && $0.outcome == .passed })
  }

  @Test(arguments: [("BREAK_ONE_HOT_INDEX", "factors-vs-jacobian"), ("BREAK_FACTORED_VJP", "factored-vjp-vs-vjp")])
  func wrongSumsOfTermsFailTheirCheck(defect: String, check: String) throws {
    let broken = try BackendLibrary(url: try TokenBackend.compile(defect))
    let checks = BackendConformance(library: broken, modelPath: broken.url.path).run()
    let failing = try #require(checks.first { $0.name == check })
    #expect(failing.outcome == .failed, "\(failing.detail)")
  }

  @Test func aTypedInputModelPassesAndALegacySlotThatTakesFloatsFails() throws {
    let library = try BackendLibrary(url: try TokenBackend.compile())
    let passing = BackendConformance(library: library, modelPath: library.url.path).run()
    #expect(Self.failures(passing) == [])
    #expect(passing.contains { $0.name == "inputs-legacy-slots" && $0.outcome == .passed })

    let broken = try BackendLibrary(url: try TokenBackend.compile("BREAK_LEGACY_ACCEPTS"))
    let checks = BackendConformance(library: broken, modelPath: broken.url.path).run()
    let legacy = try #require(checks.first { $0.name == "inputs-legacy-slots" })
    #expect(legacy.outcome == .failed && legacy.detail.contains("forward with a float buffer for"))
  }
}
