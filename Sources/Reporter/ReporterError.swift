/// Why a bundle could not be written or read.
public enum ReporterError: Error, CustomStringConvertible, Equatable {
  /// Something already exists at the bundle's path and replacing it was not asked for.
  case bundleExists(path: String)
  /// A file could not be written.
  case cannotWrite(path: String, reason: String)
  /// A file in a bundle is missing or unreadable.
  case cannotRead(path: String, reason: String)
  /// A bundle's file does not hold what the format says.
  case malformedBundle(path: String, reason: String)
  /// The bundle was written by a newer, incompatible format version.
  case unsupportedFormat(path: String, version: Int)
  /// No explanation for this test index is stored.
  case noSuchTestPoint(index: Int, available: String)
  /// A class index outside 0..<classCount.
  case noSuchClass(index: Int, classCount: Int)

  public var description: String {
    switch self {
    case .bundleExists(let path): return "\(path): already exists (pass --force to replace it)"
    case .cannotWrite(let path, let reason): return "\(path): cannot write: \(reason)"
    case .cannotRead(let path, let reason): return "\(path): cannot read: \(reason)"
    case .malformedBundle(let path, let reason): return "\(path): not a valid entk bundle file: \(reason)"
    case .unsupportedFormat(let path, let version):
      return "\(path): bundle format version \(version) is newer than this entk supports (\(BundleFormat.version))"
    case .noSuchTestPoint(let index, let available):
      return "no explanation for test index \(index) (bundle has \(available))"
    case .noSuchClass(let index, let classCount): return "class \(index) is outside 0..<\(classCount)"
    }
  }
}
