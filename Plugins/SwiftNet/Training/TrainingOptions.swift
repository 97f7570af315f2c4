import Foundation

/// The `options_json` of `train`, every key optional: `epochs` (10), `batch_size` (32), `learning_rate` (0.001), `optimizer` ("adam" or "sgd"; "adam"), `momentum` (sgd only, 0), `seed` (0: shuffling order).
///
/// Unknown keys are an error.
struct TrainingOptions: Equatable {
  enum Optimizer: String { case adam, sgd }

  var epochs = 10
  var batchSize = 32
  var learningRate = 0.001
  var optimizer = Optimizer.adam
  var momentum = 0.0
  var seed: UInt64 = 0

  init() {}

  /// Parses `json` (NULL, "" and "{}" give the defaults).
  init(json: String?) throws(SwiftNetError) {
    let fields = try OptionsObject(json)
    epochs = try fields.int("epochs", default: epochs, range: 1...1_000_000)
    batchSize = try fields.int("batch_size", default: batchSize, range: 1...1 << 20)
    learningRate = try fields.number("learning_rate", default: learningRate)
    momentum = try fields.number("momentum", default: momentum, allowZero: true)
    seed = UInt64(try fields.int("seed", default: 0, range: 0...Int.max))
    let name = try fields.string("optimizer", default: optimizer.rawValue)
    guard let chosen = Optimizer(rawValue: name) else {
      throw .invalidOptions("'optimizer' must be \"adam\" or \"sgd\", got \"\(name)\"")
    }
    optimizer = chosen
    try fields.rejectUnknown(known: ["epochs", "batch_size", "learning_rate", "optimizer", "momentum", "seed"])
  }
}

/// A parsed options_json object with typed, range-checked accessors.
struct OptionsObject {
  let fields: [String: JSONValue]

  init(_ json: String?) throws(SwiftNetError) {
    let text = (json ?? "").trimmingCharacters(in: .whitespacesAndNewlines)
    guard !text.isEmpty else {
      fields = [:]
      return
    }
    let value = try JSONValue.parse(Data(text.utf8)) { .invalidOptions("malformed JSON: \($0)") }
    guard case .object(let object) = value else {
      throw .invalidOptions("must be a JSON object, got \(value.typeName)")
    }
    fields = object
  }

  func int(_ key: String, default fallback: Int, range: ClosedRange<Int>) throws(SwiftNetError) -> Int {
    guard let value = fields[key] else { return fallback }
    guard case .int(let number) = value, range.contains(number) else {
      throw .invalidOptions("'\(key)' must be an integer in \(range.lowerBound)...\(range.upperBound), got \(value)")
    }
    return number
  }

  func number(_ key: String, default fallback: Double, allowZero: Bool = false) throws(SwiftNetError) -> Double {
    guard let value = fields[key] else { return fallback }
    let number: Double
    switch value {
    case .int(let integer): number = Double(integer)
    case .number(let real): number = real
    default: throw .invalidOptions("'\(key)' must be a number, got \(value.typeName)")
    }
    guard number.isFinite, allowZero ? number >= 0 : number > 0 else {
      throw .invalidOptions("'\(key)' must be a finite number \(allowZero ? ">= 0" : "> 0"), got \(number)")
    }
    return number
  }

  func string(_ key: String, default fallback: String) throws(SwiftNetError) -> String {
    guard let value = fields[key] else { return fallback }
    guard case .string(let text) = value else {
      throw .invalidOptions("'\(key)' must be a string, got \(value.typeName)")
    }
    return text
  }

  func rejectUnknown(known: Set<String>) throws(SwiftNetError) {
    if let unknown = fields.keys.sorted().first(where: { !known.contains($0) }) {
      throw .invalidOptions("unknown option '\(unknown)' (known: \(known.sorted().joined(separator: ", ")))")
    }
  }
}
