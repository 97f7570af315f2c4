import Foundation

/// Why a JSON file did not decode, as one line naming the field ("grid.tileRows: expected Int"),
/// instead of `DecodingError`'s nested dump.
public enum JSONFailure {
  /// The reason for a `JSONDecoder` (or file-reading) error, without the path.
  public static func reason(_ error: Error) -> String {
    guard let decoding = error as? DecodingError else { return FileSystemReason.of(error) }
    func field(_ path: [CodingKey]) -> String {
      let names = path.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }
      let joined = names.reduce("") { $0.isEmpty || $1.hasPrefix("[") ? $0 + $1 : $0 + "." + $1 }
      return joined.isEmpty ? "the top level" : joined
    }
    switch decoding {
    case .typeMismatch(let type, let context):
      return "\(field(context.codingPath)): expected \(type)"
    case .valueNotFound(let type, let context):
      return "\(field(context.codingPath)): expected \(type), found null"
    case .keyNotFound(let key, let context):
      return "\(field(context.codingPath + [key])): missing"
    case .dataCorrupted(let context):
      let underlying = (context.underlyingError as NSError?).map { ": \($0.localizedDescription)" } ?? ""
      return "\(field(context.codingPath)): \(context.debugDescription)\(underlying)"
    @unknown default:
      return "\(decoding)"
    }
  }
}
