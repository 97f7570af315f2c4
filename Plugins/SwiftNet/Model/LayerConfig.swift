/// One layer's object in the architecture file, read strictly: every key must be known to the layer type, and every value must have the expected JSON type and range.
///
/// Errors name the layer.
struct LayerConfig {
  let name: String
  let type: LayerType
  private let fields: [String: JSONValue]
  private var read: Set<String> = ["type", "name"]

  init(name: String, type: LayerType, fields: [String: JSONValue]) {
    self.name = name
    self.type = type
    self.fields = fields
  }

  private func fail(_ reason: String) -> SwiftNetError { .invalidArchitecture(layer: name, reason: reason) }

  /// A required or defaulted integer at least `minimum`.
  mutating func int(_ key: String, default fallback: Int? = nil, minimum: Int = 1) throws(SwiftNetError) -> Int {
    read.insert(key)
    guard let value = fields[key] else {
      guard let fallback else { throw fail("\(type.rawValue) needs an integer '\(key)'") }
      return fallback
    }
    guard case .int(let number) = value else { throw fail("'\(key)' must be an integer, got \(value.typeName)") }
    guard number >= minimum, number <= 1 << 24 else {
      throw fail("'\(key)' must be in \(minimum)...\(1 << 24), got \(number)")
    }
    return number
  }

  /// An integer or a [height, width] pair, each at least `minimum`.
  mutating func pair(_ key: String, default fallback: (Int, Int)? = nil, minimum: Int = 1) throws(SwiftNetError) -> (
    Int, Int
  ) {
    read.insert(key)
    guard let value = fields[key] else {
      guard let fallback else { throw fail("\(type.rawValue) needs '\(key)' (an integer or [height, width])") }
      return fallback
    }
    let numbers: [Int]
    switch value {
    case .int(let number): numbers = [number, number]
    case .array(let items) where items.count == 2:
      numbers = try items.map { item throws(SwiftNetError) -> Int in
        guard case .int(let number) = item else { throw fail("'\(key)' must hold integers, got \(item.typeName)") }
        return number
      }
    default: throw fail("'\(key)' must be an integer or [height, width], got \(value.typeName)")
    }
    for number in numbers where number < minimum || number > 1 << 24 {
      throw fail("'\(key)' entries must be in \(minimum)...\(1 << 24), got \(number)")
    }
    return (numbers[0], numbers[1])
  }

  /// An optional integer (nil when absent), for declared sizes that are checked against shapes.
  mutating func optionalInt(_ key: String) throws(SwiftNetError) -> Int? {
    guard fields[key] != nil else {
      read.insert(key)
      return nil
    }
    return try int(key)
  }

  mutating func bool(_ key: String, default fallback: Bool) throws(SwiftNetError) -> Bool {
    read.insert(key)
    guard let value = fields[key] else { return fallback }
    guard case .bool(let flag) = value else { throw fail("'\(key)' must be true or false, got \(value.typeName)") }
    return flag
  }

  /// A finite number strictly above `above` (integers are accepted as numbers).
  mutating func number(_ key: String, default fallback: Double, above: Double = -.infinity) throws(SwiftNetError)
    -> Double
  {
    read.insert(key)
    guard let value = fields[key] else { return fallback }
    let number: Double
    switch value {
    case .int(let integer): number = Double(integer)
    case .number(let real): number = real
    default: throw fail("'\(key)' must be a number, got \(value.typeName)")
    }
    guard number.isFinite, number > above else {
      throw fail("'\(key)' must be a finite number above \(above), got \(number)")
    }
    return number
  }

  /// An array of layer objects (for residual blocks); nil when absent.
  mutating func layers(_ key: String) throws(SwiftNetError) -> [JSONValue]? {
    read.insert(key)
    guard let value = fields[key] else { return nil }
    guard case .array(let items) = value else {
      throw fail("'\(key)' must be an array of layers, got \(value.typeName)")
    }
    return items
  }

  /// Fails on any key no accessor asked for (a typo must not be silently ignored).
  func finish() throws(SwiftNetError) {
    let unknown = Set(fields.keys).subtracting(read).sorted()
    guard unknown.isEmpty else {
      throw fail(
        "unknown key\(unknown.count > 1 ? "s" : "") \(unknown.map { "'\($0)'" }.joined(separator: ", ")) for a \(type.rawValue) layer"
      )
    }
  }
}
