import ArgumentParser
import BackendLoader
import Foundation

struct BackendsCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "backends",
    abstract: "List the backends entk can find.",
    discussion:
      "Searches $ENTK_BACKEND_PATH, the executable's folder and ../lib/entk/backends. A library that fails to load is listed with its error."
  )

  @Flag(help: "Print JSON on stdout.") var json = false

  struct Entry: Encodable {
    var name: String
    var path: String
    var version: String?
    var abi: String?
    var description: String?
    var capabilities: [String]?
    var error: String?
  }

  func run() throws {
    let entries = BackendLocator.standard().discover().map { url -> Entry in
      let fileName = url.deletingPathExtension().lastPathComponent.replacingOccurrences(
        of: "libentk-backend-", with: "")
      do {
        let library = try BackendLibrary(url: url)
        let (major, minor) = library.abiVersion
        return Entry(
          name: library.name, path: url.path, version: library.version, abi: "\(major).\(minor)",
          description: library.summary, capabilities: library.capabilities, error: nil)
      } catch {
        return Entry(
          name: fileName, path: url.path, version: nil, abi: nil, description: nil, capabilities: nil, error: "\(error)"
        )
      }
    }
    if json {
      try printJSON(entries)
      return
    }
    if entries.isEmpty {
      print("no backends found")
      return
    }
    for entry in entries {
      if let error = entry.error {
        print("\(entry.name)  (unusable: \(error))")
      } else {
        print("\(entry.name) \(entry.version ?? "")  ABI \(entry.abi ?? "")  \(entry.description ?? "")")
        print("    \(entry.path)")
      }
    }
  }
}
