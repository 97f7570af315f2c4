import ArrayIO
import Foundation

/// Writes a bundle directory so that it appears at its final path complete or not at all.
///
/// Files go into a hidden sibling directory (`.NAME.partial-UUID`, same parent, so the final
/// `rename(2)` stays on one file system and is atomic); `commit()` renames it into place. A
/// writer dropped or failing before `commit()` removes its temporary directory; a process killed
/// mid-write leaves only that hidden directory, never a bundle at the final path.
public final class BundleWriter {
  /// Where the bundle will appear.
  public let finalURL: URL
  /// The temporary directory being filled.
  public let stagingURL: URL
  private let replaceExisting: Bool
  private var committed = false
  /// Files written so far with their SHA-256 and size, in write order.
  public private(set) var files: [BundleFileEntry] = []

  /// Creates the staging directory.
  /// - Parameter replaceExisting: when false, an existing file or folder at `finalURL` is an
  ///   error (checked now and again at commit).
  public init(finalURL: URL, replaceExisting: Bool) throws {
    self.finalURL = finalURL.standardizedFileURL
    self.replaceExisting = replaceExisting
    let parent = self.finalURL.deletingLastPathComponent()
    stagingURL = parent.appendingPathComponent(".\(self.finalURL.lastPathComponent).partial-\(UUID().uuidString)")
    if !replaceExisting, FileManager.default.fileExists(atPath: self.finalURL.path) {
      throw ReporterError.bundleExists(path: self.finalURL.path)
    }
    do {
      try FileManager.default.createDirectory(at: parent, withIntermediateDirectories: true)
      try FileManager.default.createDirectory(at: stagingURL, withIntermediateDirectories: false)
    } catch {
      throw ReporterError.cannotWrite(path: stagingURL.path, reason: FileSystemReason.of(error))
    }
  }

  deinit {
    if !committed { try? FileManager.default.removeItem(at: stagingURL) }
  }

  /// Writes `data` as the bundle file `name` (a relative path without folders) and records its
  /// checksum.
  public func add(_ name: String, data: Data) throws {
    let url = stagingURL.appendingPathComponent(name)
    do {
      try data.write(to: url)
    } catch {
      throw ReporterError.cannotWrite(
        path: finalURL.appendingPathComponent(name).path, reason: FileSystemReason.of(error))
    }
    files.append(BundleFileEntry(path: name, sha256: SHA256.hex(data), bytes: data.count))
  }

  /// Renames the staging directory to the final path (replacing what is there when allowed).
  public func commit() throws {
    let manager = FileManager.default
    var displaced: URL?
    if manager.fileExists(atPath: finalURL.path) {
      guard replaceExisting else { throw ReporterError.bundleExists(path: finalURL.path) }
      let aside = finalURL.deletingLastPathComponent().appendingPathComponent(
        ".\(finalURL.lastPathComponent).old-\(UUID().uuidString)")
      do {
        try manager.moveItem(at: finalURL, to: aside)
      } catch {
        throw ReporterError.cannotWrite(
          path: finalURL.path, reason: "cannot move the existing bundle aside: \(FileSystemReason.of(error))")
      }
      displaced = aside
    }
    guard rename(stagingURL.path, finalURL.path) == 0 else {
      let reason = FileSystemReason.of(errno: errno)
      if let displaced { try? manager.moveItem(at: displaced, to: finalURL) }
      throw ReporterError.cannotWrite(path: finalURL.path, reason: reason)
    }
    committed = true
    if let displaced { try? manager.removeItem(at: displaced) }
  }
}

/// One file of a bundle as listed in its manifest.
public struct BundleFileEntry: Sendable, Codable, Equatable {
  /// Path relative to the bundle directory.
  public var path: String
  /// SHA-256 of the file's bytes, 64 lowercase hex digits.
  public var sha256: String
  /// Size in bytes.
  public var bytes: Int

  public init(path: String, sha256: String, bytes: Int) {
    self.path = path
    self.sha256 = sha256
    self.bytes = bytes
  }
}
