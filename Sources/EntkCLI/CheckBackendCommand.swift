import ArgumentParser
import ArrayIO
import BackendLoader
import Conformance
import Foundation
import Kernels

struct CheckBackendCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "check-backend",
    abstract: "Run the backend conformance test.",
    discussion: """
      Checks the ABI table, describe consistency, forward determinism and batch invariance, \
      embeddings, vjp against central finite differences, jacobian against vjp, and error paths. \
      Prints a table of checks; exits 1 if any fails.
      """)

  @OptionGroup var model: ModelOptions
  @Option(
    help: ArgumentHelp(
      "Input samples, as entk kernel's --train (a file, or NAME=FILE per input); default: seeded Gaussian values for float inputs, 1 for integer inputs.",
      valueName: "file|NAME=file"))
  var data: [String] = []
  @Flag(help: "Print JSON on stdout.") var json = false

  struct Report: Encodable {
    var backend: String
    var model: String
    var passed: Bool
    var checks: [ConformanceCheck]
  }

  func run() throws {
    let library = try BackendLibrary.load(model.backend)
    // Bad data is the user's input error (exit 3), not a failed check: read it before the checks,
    // against the model's inputs.
    let samples =
      try data.isEmpty
      ? nil
      : SampleSet.read(
        DataSource(arguments: data), inputs: library.open(model: model.model, options: model.options).description.inputs
      ).arrays
    let checks = BackendConformance(library: library, modelPath: model.model, options: model.options).run(
      samples: samples.map { arrays in { _ in arrays } })
    let passed = !checks.contains { $0.outcome == .failed }
    if json {
      try printJSON(Report(backend: library.url.path, model: model.model, passed: passed, checks: checks))
    } else {
      let width = checks.map(\.name.count).max() ?? 10
      for check in checks {
        let mark = check.outcome == .passed ? "PASS" : check.outcome == .failed ? "FAIL" : "SKIP"
        print("\(mark)  \(check.name.padding(toLength: width, withPad: " ", startingAt: 0))  \(check.detail)")
      }
      let failed = checks.filter { $0.outcome == .failed }.count
      print(
        passed
          ? "conformance: all \(checks.count) checks passed or skipped"
          : "conformance: \(failed) of \(checks.count) checks failed")
    }
    if !passed { throw ExitCode(ExitStatus.checkFailed.rawValue) }
  }
}
