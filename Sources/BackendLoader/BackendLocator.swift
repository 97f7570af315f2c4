import Foundation

/// Finds backend libraries: by path, or by name (`libentk-backend-NAME.so`) in
/// `ENTK_BACKEND_PATH` (colon-separated), next to the executable, and in
/// `../lib/entk/backends` relative to it, in that order.
public struct BackendLocator: Sendable {
  /// Directories searched for backends by name, in order.
  public var searchDirectories: [URL]

  public init(searchDirectories: [URL]) {
    self.searchDirectories = searchDirectories
  }

  /// The standard search order for this process.
  public static func standard(environment: [String: String] = ProcessInfo.processInfo.environment) -> BackendLocator {
    var directories: [URL] = []
    if let list = environment["ENTK_BACKEND_PATH"] {
      directories += list.split(separator: ":").map { URL(fileURLWithPath: String($0), isDirectory: true) }
    }
    let executableDirectory = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
      .deletingLastPathComponent()
    directories.append(executableDirectory)
    directories.append(executableDirectory.appendingPathComponent("../lib/entk/backends").standardizedFileURL)
    return BackendLocator(searchDirectories: directories)
  }

  /// The library file name for a backend name.
  public static func libraryName(for name: String) -> String { "libentk-backend-\(name).so" }

  /// Resolves `nameOrPath`: anything containing `/` or ending in `.so` is a path; otherwise the
  /// first directory holding `libentk-backend-NAME.so` wins.
  public func locate(_ nameOrPath: String) throws -> URL {
    if nameOrPath.contains("/") || nameOrPath.hasSuffix(".so") {
      let url = URL(fileURLWithPath: nameOrPath)
      guard FileManager.default.fileExists(atPath: url.path) else {
        throw BackendLoadError.fileMissing(path: url.path)
      }
      return url
    }
    let file = Self.libraryName(for: nameOrPath)
    for directory in searchDirectories {
      let candidate = directory.appendingPathComponent(file)
      if FileManager.default.fileExists(atPath: candidate.path) { return candidate }
    }
    throw BackendLoadError.notFound(name: nameOrPath, searched: searchDirectories.map(\.path))
  }

  /// Every backend library in the search directories; a name found twice is listed once, from
  /// the first directory (the one `locate` would pick).
  public func discover() -> [URL] {
    var seen = Set<String>()
    var found: [URL] = []
    for directory in searchDirectories {
      guard let entries = try? FileManager.default.contentsOfDirectory(atPath: directory.path) else { continue }
      for entry in entries.sorted()
      where entry.hasPrefix("libentk-backend-") && entry.hasSuffix(".so") && !seen.contains(entry) {
        seen.insert(entry)
        found.append(directory.appendingPathComponent(entry))
      }
    }
    return found
  }
}
