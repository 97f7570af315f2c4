import Foundation

/// Why a file-system call failed, in words a user can act on, instead of Foundation's
/// "NSCocoaErrorDomain Code=…" text.
public enum FileSystemReason {
  /// The reason behind `error` (a Foundation or POSIX error), without the path.
  /// - Parameter path: the path the call read, when a folder there, or a file where a folder on
  ///   its way should be, explains a failure Foundation reports without a cause.
  public static func of(_ error: Error, path: String? = nil) -> String {
    if let path {
      let manager = FileManager.default
      var isDirectory: ObjCBool = false
      if manager.fileExists(atPath: path, isDirectory: &isDirectory) {
        if isDirectory.boolValue { return of(errno: EISDIR) }
      } else {
        var ancestor = URL(fileURLWithPath: path).deletingLastPathComponent()
        while !manager.fileExists(atPath: ancestor.path, isDirectory: &isDirectory) && ancestor.path != "/" {
          ancestor = ancestor.deletingLastPathComponent()
        }
        if !isDirectory.boolValue { return of(errno: ENOTDIR) }
      }
    }
    let underlying = (error as NSError).userInfo[NSUnderlyingErrorKey] as? NSError
    if let underlying, underlying.domain == NSPOSIXErrorDomain { return of(errno: Int32(underlying.code)) }
    if let posix = error as? POSIXError { return of(errno: posix.code.rawValue) }
    if let cocoa = error as? CocoaError {
      switch cocoa.code {
      case .fileReadNoSuchFile, .fileNoSuchFile: return of(errno: ENOENT)
      case .fileReadNoPermission, .fileWriteNoPermission: return of(errno: EACCES)
      case .fileWriteFileExists: return of(errno: EEXIST)
      case .fileWriteInvalidFileName: return of(errno: ENAMETOOLONG)
      case .fileWriteOutOfSpace: return of(errno: ENOSPC)
      case .fileWriteVolumeReadOnly: return of(errno: EROFS)
      default: break
      }
    }
    return error.localizedDescription
  }

  /// The reason for an `errno` value, with the common ones spelled out.
  public static func of(errno code: Int32) -> String {
    switch code {
    case ENOENT: return "no such file or folder"
    case EEXIST: return "a file is in the way (it exists and is not a folder)"
    case ENOTDIR: return "a component of the path is a file, not a folder"
    case EISDIR: return "it is a folder, not a file"
    case ENAMETOOLONG: return "a name in the path is longer than the file system allows (\(NAME_MAX) bytes a name)"
    case EACCES, EPERM: return "permission denied"
    case ENOSPC: return "no space left on the device"
    case EROFS: return "the file system is read-only"
    default: return String(cString: strerror(code))
    }
  }
}
