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
  /// A bundle file whose SHA-256 is not the one `manifest.json` records (edited or damaged).
  case checksumMismatch(path: String, recorded: String, actual: String)
  /// A field of a bundle file that contradicts the format or another file.
  case invalidField(path: String, field: String, value: String, reason: String)

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
    case .checksumMismatch(let path, let recorded, let actual):
      return
        "\(path): SHA-256 \(actual.prefix(16))… differs from \(recorded.prefix(16))… recorded in manifest.json; the file was changed after the bundle was written"
    case .invalidField(let path, let field, let value, let reason): return "\(path): \(field) is \(value): \(reason)"
    }
  }
}
