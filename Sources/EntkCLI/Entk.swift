import ArgumentParser
import AttributionPipeline
import Foundation

@main
struct Entk: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "entk",
    abstract: "Explain a neural network's predictions by example with empirical neural tangent kernels.",
    discussion: """
      Backends are shared libraries named libentk-backend-NAME.so, found by path or by NAME in \
      $ENTK_BACKEND_PATH, next to this executable and in ../lib/entk/backends.

      Exit codes: 0 success; 1 a check failed; 2 usage error; 3 bad input (file, data, shape); \
      4 backend could not be loaded or a backend call failed; 5 internal error.
      """,
    version: EntkVersion.current,
    subcommands: [
      BackendsCommand.self, InspectCommand.self, CheckBackendCommand.self, TrainCommand.self, KernelCommand.self,
      MergeCommand.self, PlanCommand.self, AttributeCommand.self, ReportCommand.self, ExplainCommand.self,
      EvaluateCommand.self,
    ]
  )

  /// Runs the command line; the one place where errors become a message and an exit code.
  static func main() {
    do {
      var command = try parseAsRoot(
        DeprecatedSpellings.rewrite(Array(CommandLine.arguments.dropFirst()), warn: printError))
      try command.run()
    } catch let exitCode as ExitCode {
      exit(withError: exitCode)
    } catch {
      switch exitCode(for: error) {
      case .success:  // --help, --version
        exit(withError: error)
      case .validationFailure:
        FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
        Foundation.exit(ExitStatus.usage.rawValue)
      default:
        FileHandle.standardError.write(Data("entk: error: \(error)\n".utf8))
        Foundation.exit(ExitStatus(classifying: error).rawValue)
      }
    }
  }
}
