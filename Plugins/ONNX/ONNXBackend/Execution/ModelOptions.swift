import Foundation

/// The options an ONNX model is opened with (`options_json`).
///
/// - `"params"`: array of name patterns (`*` any run of characters, `?` one character);
///   only the weight initializers whose names match one become parameters. Default: all.
/// - `"output"`: the graph output that holds the logits. Default: the first output.
public struct ModelOptions: Sendable, Hashable {
  public var parameterPatterns: [String]? = nil
  public var output: String? = nil

  public init(parameterPatterns: [String]? = nil, output: String? = nil) {
    self.parameterPatterns = parameterPatterns
    self.output = output
  }

  /// Parses `options_json`; nil, "" and "{}" give the defaults.
  public init(json: String?) throws(ONNXError) {
    guard let json, !json.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { return }
    guard let object = try? JSONSerialization.jsonObject(with: Data(json.utf8)),
      let dictionary = object as? [String: Any]
    else {
      throw .invalidArgument("options must be a JSON object, got '\(json)'")
    }
    for (key, value) in dictionary {
      switch key {
      case "params":
        guard let patterns = value as? [String], !patterns.isEmpty else {
          throw .invalidArgument("option 'params' must be a non-empty array of name patterns")
        }
        parameterPatterns = patterns
      case "output":
        guard let name = value as? String else { throw .invalidArgument("option 'output' must be a string") }
        output = name
      default:
        throw .invalidArgument("unknown option '\(key)' (known: params, output)")
      }
    }
  }

  /// Whether `name` matches glob `pattern` (`*` and `?`).
  static func matches(_ name: String, _ pattern: String) -> Bool {
    let n = Array(name.utf8)
    let p = Array(pattern.utf8)
    var (i, j) = (0, 0)
    var star: Int? = nil
    var mark = 0
    while i < n.count {
      if j < p.count, p[j] == UInt8(ascii: "?") || p[j] == n[i] {
        i += 1
        j += 1
      } else if j < p.count, p[j] == UInt8(ascii: "*") {
        star = j
        mark = i
        j += 1
      } else if let s = star {
        j = s + 1
        mark += 1
        i = mark
      } else {
        return false
      }
    }
    while j < p.count, p[j] == UInt8(ascii: "*") { j += 1 }
    return j == p.count
  }
}
