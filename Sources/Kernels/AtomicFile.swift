import Foundation

/// Writes files so that readers see either nothing or the whole file: the pieces go to a temporary
/// name in the same folder, which is then renamed into place.
///
/// No fsync: rename is atomic against a killed process, and after a power loss a torn tile fails
/// its sidecar checksum and is recomputed, so durability is not worth a flush of gigabytes.
enum AtomicFile {
  static func write(_ pieces: [Data], to url: URL) throws {
    let temporary = temporaryURL(for: url)
    guard FileManager.default.createFile(atPath: temporary.path, contents: nil) else {
      throw KernelError.io(path: temporary.path, reason: "cannot create file")
    }
    do {
      let handle = try FileHandle(forWritingTo: temporary)
      for piece in pieces { try handle.write(contentsOf: piece) }
      try handle.close()
      try rename(temporary, to: url)
    } catch {
      try? FileManager.default.removeItem(at: temporary)
      throw KernelError.io(path: url.path, error)
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
