import Foundation

/// Where tests find the built products, the repository and its fixtures.
public enum TestEnvironment {
  /// The build products folder: holds the test runner, `entk` and every backend `.so`.
  public static let productsDirectory = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
    .deletingLastPathComponent()

  /// The repository root (found from this file's path, so tests run from any directory).
  public static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .deletingLastPathComponent().deletingLastPathComponent()

  /// A file or folder under `Tests/Fixtures`.
  public static func fixture(_ relativePath: String) -> URL {
    repositoryRoot.appendingPathComponent("Tests/Fixtures").appendingPathComponent(relativePath)
  }

  /// The built `entk` executable.
  public static var entkExecutable: URL { productsDirectory.appendingPathComponent("entk") }

  /// A fresh, empty temporary folder.
  public static func temporaryDirectory(_ label: String = #function) throws -> URL {
    let safe = label.filter { $0.isLetter || $0.isNumber }
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("entk-tests-\(safe)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    return url
  }
}

/// The result of running a command.
public struct CommandResult: Sendable {
  public var status: Int32
  public var stdout: String
  public var stderr: String
}

/// Runs `executable` with `arguments` and waits for it.
///
/// `environment` entries are added to the current environment.
public func runCommand(
  _ executable: URL, _ arguments: [String], environment: [String: String] = [:], currentDirectory: URL? = nil
) throws -> CommandResult {
  let process = Process()
  process.executableURL = executable
  process.arguments = arguments
  process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
  if let currentDirectory { process.currentDirectoryURL = currentDirectory }
  // Files, not pipes: a chatty child can never block on a full pipe.
  let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("entk-run-\(UUID().uuidString)")
  try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
  defer { try? FileManager.default.removeItem(at: scratch) }
  let outURL = scratch.appendingPathComponent("stdout")
  let errURL = scratch.appendingPathComponent("stderr")
  try Data().write(to: outURL)
  try Data().write(to: errURL)
  process.standardOutput = try FileHandle(forWritingTo: outURL)
  process.standardError = try FileHandle(forWritingTo: errURL)
  try process.run()
  process.waitUntilExit()
  let outData = try Data(contentsOf: outURL)
  let errData = try Data(contentsOf: errURL)
  return CommandResult(
    status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
    stderr: String(decoding: errData, as: UTF8.self))
}

/// Runs a Python script (text) with arguments and returns its standard output.
public func runPython(_ script: String, _ arguments: [String], in directory: URL) throws -> String {
  let url = directory.appendingPathComponent("script-\(UUID().uuidString).py")
  try script.write(to: url, atomically: true, encoding: .utf8)
  let result = try runCommand(URL(fileURLWithPath: "/usr/bin/env"), ["python3", url.path] + arguments)
  guard result.status == 0 else {
    struct PythonFailed: Error, CustomStringConvertible { var description: String }
    throw PythonFailed(description: "python3 failed: \(result.stderr)")
  }
  return result.stdout
}

/// Runs the built `entk` with `arguments`.
public func runEntk(_ arguments: [String], environment: [String: String] = [:], currentDirectory: URL? = nil) throws
  -> CommandResult
{
  try runCommand(
    TestEnvironment.entkExecutable, arguments, environment: environment, currentDirectory: currentDirectory)
}

/// Compiles a C backend source under `Tests/Fixtures` into a shared library named `name` in
/// `directory`, against the ABI header, with the system C compiler; `defines` become `-D` flags.
public func compileCBackend(
  source relativePath: String, libraryName name: String, into directory: URL, defines: [String] = []
) throws -> URL {
  let output = directory.appendingPathComponent(name)
  let header = TestEnvironment.repositoryRoot.appendingPathComponent("Sources/CEntkABI/include").path
  let result = try runCommand(
    URL(fileURLWithPath: "/usr/bin/env"),
    ["cc", "-shared", "-fPIC", "-O1", "-Wall", "-Werror", "-I", header] + defines.map { "-D\($0)" }
      + [TestEnvironment.fixture(relativePath).path, "-o", output.path, "-lm"])
  guard result.status == 0 else {
    struct CompileError: Error, CustomStringConvertible { var description: String }
    throw CompileError(description: "cc failed for \(relativePath): \(result.stderr)")
  }
  return output
}
