import Foundation

/// The SHA-256 of a model as the manifest records it, for a model file or a model folder.
///
/// A file's digest is its SHA-256. A folder's is the SHA-256 of its listing: one line
/// `<SHA-256 of the file>  <path relative to the folder>\n` per regular file anywhere under it
/// (hidden files included; symbolic links followed, except to a folder that contains them),
/// sorted by the paths' UTF-8 bytes. That is what
/// `cd DIR && find -L . -type f -printf '%P\n' | LC_ALL=C sort | xargs -d '\n' sha256sum | sha256sum`
/// prints, so any change of a file's bytes or name changes it, and neither the order in which the
/// file system lists the folder nor its timestamps do.
public enum ContentDigest {
  /// The digest of the file or folder at `url` as 64 lowercase hex digits.
  public static func hex(of url: URL) throws -> String {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), isDirectory.boolValue else {
      return try SHA256.hex(fileAt: url)
    }
    var listing = ""
    for path in try files(in: url, enclosing: []).sorted(by: { Array($0.utf8).lexicographicallyPrecedes($1.utf8) }) {
      listing += "\(try SHA256.hex(fileAt: url.appendingPathComponent(path)))  \(path)\n"
    }
    return SHA256.hex(Data(listing.utf8))
  }

  /// The relative paths of the regular files under `folder`, following symbolic links but not
  /// into a folder of `enclosing` (the resolved paths of the folders above), which would loop.
  private static func files(in folder: URL, enclosing: Set<String>) throws -> [String] {
    let resolved = folder.resolvingSymlinksInPath().path
    guard !enclosing.contains(resolved) else { return [] }
    var paths: [String] = []
    for name in try FileManager.default.contentsOfDirectory(atPath: folder.path) {
      let url = folder.appendingPathComponent(name)
      var isDirectory: ObjCBool = false
      guard FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) else { continue }
      if isDirectory.boolValue {
        paths += try files(in: url, enclosing: enclosing.union([resolved])).map { name + "/" + $0 }
      } else {
        paths.append(name)
      }
    }
    return paths
  }
}
