import Foundation

/// A parsed JSON document.
///
/// Decoding keeps booleans, integers and other numbers apart, so an architecture file that writes `"bias": 1`
/// or `"stride": 1.5` is rejected instead of guessed.
enum JSONValue: Codable, Equatable {
  case bool(Bool)
  case int(Int)
  case number(Double)
  case string(String)
  case array([JSONValue])
  case object([String: JSONValue])
  case null

  init(from decoder: Decoder) throws {
    let container = try decoder.singleValueContainer()
    if container.decodeNil() {
      self = .null
    } else if let value = try? container.decode(Bool.self) {
      self = .bool(value)
    } else if let value = try? container.decode(Int.self) {
      self = .int(value)
    } else if let value = try? container.decode(Double.self) {
      self = .number(value)
    } else if let value = try? container.decode(String.self) {
      self = .string(value)
    } else if let value = try? container.decode([JSONValue].self) {
      self = .array(value)
    } else {
      self = .object(try container.decode([String: JSONValue].self))
    }
  }

  func encode(to encoder: Encoder) throws {
    var container = encoder.singleValueContainer()
    switch self {
    case .bool(let value): try container.encode(value)
    case .int(let value): try container.encode(value)
    case .number(let value): try container.encode(value)
    case .string(let value): try container.encode(value)
    case .array(let value): try container.encode(value)
    case .object(let value): try container.encode(value)
    case .null: try container.encodeNil()
    }
  }

  /// Parses `data`; a parse failure becomes the error `makeError` builds from the reason.
  static func parse(_ data: Data, orThrow makeError: (String) -> SwiftNetError) throws(SwiftNetError) -> JSONValue {
    do {
      return try JSONDecoder().decode(JSONValue.self, from: data)
    } catch {
      throw makeError(Self.reason(error))
    }
  }

  /// Pretty, key-sorted JSON text (stable, so saved architectures diff cleanly).
  func encoded() throws -> Data {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    return try encoder.encode(self)
  }

  /// A readable name of the value's JSON type, for error messages.
  var typeName: String {
    switch self {
    case .bool: return "boolean"
    case .int: return "integer"
    case .number: return "number"
    case .string: return "string"
    case .array: return "array"
    case .object: return "object"
    case .null: return "null"
    }
  }

  private static func reason(_ error: Error) -> String {
    switch error {
    case DecodingError.dataCorrupted(let context):
      let underlying = (context.underlyingError as NSError?)?.userInfo[NSDebugDescriptionErrorKey] as? String
      return underlying ?? context.debugDescription
    default:
      return "\(error)"
    }
  }
}
