import Foundation

/// Writes files so that readers see either nothing or the whole file: data goes to a temporary
/// name in the same folder, is flushed to disk, and is renamed into place.
enum AtomicFile {
  static func write(_ data: Data, to url: URL) throws {
    let temporary = temporaryURL(for: url)
    guard FileManager.default.createFile(atPath: temporary.path, contents: nil) else {
      throw KernelError.io(path: temporary.path, reason: "cannot create file")
    }
    do {
      let handle = try FileHandle(forWritingTo: temporary)
      try handle.write(contentsOf: data)
      try handle.synchronize()
      try handle.close()
      try rename(temporary, to: url)
    } catch {
      try? FileManager.default.removeItem(at: temporary)
      if error is KernelError { throw error }
      throw KernelError.io(path: url.path, reason: "\(error)")
    }
  }

  /// A temporary sibling of `url` unique to this process: "NAME.tmp-PID".
  static func temporaryURL(for url: URL) -> URL {
    url.deletingLastPathComponent().appendingPathComponent(url.lastPathComponent + ".tmp-\(getpid())")
  }

  /// rename(2): atomic replacement within one file system.
  static func rename(_ from: URL, to: URL) throws {
    guard Foundation.rename(from.path, to.path) == 0 else {
      throw KernelError.io(path: to.path, reason: "rename failed: \(String(cString: strerror(errno)))")
    }
  }
}
