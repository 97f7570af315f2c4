import Foundation

/// Why an `--out` path cannot be written, found before any work is done.
enum OutputPathError: Error, CustomStringConvertible {
  case empty(option: String)
  case notAFolder(path: String)
  case underAFile(path: String, file: String)
  case nameTooLong(path: String, name: String, bytes: Int, limit: Int)
  case pathTooLong(path: String, bytes: Int)
  case notWritable(path: String, folder: String)
  /// Something is at the path and the command replaces only with `--force`.
  case exists(path: String)

  var description: String {
    switch self {
    case .empty(let option): return "\(option) is empty; give the folder to write"
    case .notAFolder(let path): return "\(path): exists and is a file, not a folder; give another --out or remove it"
    case .underAFile(let path, let file):
      return "\(path): cannot be created because \(file) is a file, not a folder"
    case .nameTooLong(let path, let name, let bytes, let limit):
      return
        "\(path): the name '\(name.prefix(40))…' is \(bytes) bytes, longer than the \(limit) bytes a name may have here"
    case .pathTooLong(let path, let bytes):
      return "\(path.prefix(80))…: the path is \(bytes) bytes, longer than the \(PATH_MAX - 1) a path may have"
    case .notWritable(let path, let folder): return "\(path): cannot be written: \(folder) is not writable"
    case .exists(let path): return "\(path): already exists; give --force to replace it, or another --out"
    }
  }
}

/// The folder an `--out` option names, checked before a command computes anything, so a path
/// that cannot be written fails at once with a sentence instead of after the work, as a raw
/// file-system error.
enum OutputPath {
  /// The absolute URL of `text`, once it passes the checks.
  /// - Parameters:
  ///   - reservedNameBytes: bytes the command adds to the last name for hidden siblings
  ///     (".NAME.partial-UUID"), which must fit the file system's name limit too.
  ///   - mayBeFile: an existing file at the path is the command's own business (`attribute
  ///     --force` replaces it).
  static func check(_ text: String, option: String = "--out", reservedNameBytes: Int = 0, mayBeFile: Bool = false)
    throws -> URL
  {
    guard !text.isEmpty else { throw OutputPathError.empty(option: option) }
    let url = URL(fileURLWithPath: text).standardizedFileURL
    let path = url.path
    guard path.utf8.count < Int(PATH_MAX) else { throw OutputPathError.pathTooLong(path: path, bytes: path.utf8.count) }
    let names = url.pathComponents.filter { $0 != "/" }
    for (index, name) in names.enumerated() {
      let bytes = name.utf8.count + (index == names.count - 1 ? reservedNameBytes : 0)
      guard bytes <= Int(NAME_MAX) else {
        throw OutputPathError.nameTooLong(
          path: path, name: name, bytes: name.utf8.count, limit: Int(NAME_MAX) - reservedNameBytes)
      }
    }
    var isDirectory: ObjCBool = false
    if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !mayBeFile {
      guard isDirectory.boolValue else { throw OutputPathError.notAFolder(path: path) }
      guard access(path, W_OK) == 0 else { throw OutputPathError.notWritable(path: path, folder: path) }
      return url
    }
    var ancestor = url.deletingLastPathComponent()
    while !FileManager.default.fileExists(atPath: ancestor.path, isDirectory: &isDirectory) && ancestor.path != "/" {
      ancestor = ancestor.deletingLastPathComponent()
    }
    guard isDirectory.boolValue else { throw OutputPathError.underAFile(path: path, file: ancestor.path) }
    guard access(ancestor.path, W_OK) == 0 else { throw OutputPathError.notWritable(path: path, folder: ancestor.path) }
    return url
  }
}
