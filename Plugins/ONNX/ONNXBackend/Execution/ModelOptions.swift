import Foundation

/// The options an ONNX model is opened with (`options_json`).
///
/// - `"params"`: array of name patterns (`*` any run of characters, `?` one character);
///   only the weight initializers whose names match one become parameters. Default: all.
/// - `"output"`: the graph output that holds the logits. Default: the first output.
/// - `"dims"`: sizes for symbolic (dynamic) non-batch dimensions by their name in the model, e.g.
///   `{"sequence": 64}` for inputs exported with `dynamic_axes={0: "batch", 1: "sequence"}`.
/// - `"shapes"`: per-sample shapes of inputs by input name, e.g. `{"input_ids": [64]}`; for
///   dimensions without a name, or to give one input's shape whole.
/// - `"conv_factors"`: `"auto"` (default), `"always"` or `"never"`: whether a convolution's
///   weight is returned as a sum of per-position factors (`SumFactoring`).
/// - `"token_factors"`: the same for a MatMul's weight applied at every token of a sequence.
/// - `"batching"`: `"auto"` (default) or `"off"`: whether passes may carry several samples at
///   once (`Batching`).
public struct ModelOptions: Sendable, Hashable {
  /// Whether forward and reverse passes run several samples through the graph at once.
  public enum Batching: String, Sendable, Hashable, CaseIterable {
    /// When the probe at open shows that the samples stay apart (`BatchProbe`): faster, and each
    /// sample's results are its own up to float32 rounding, which can depend on the batch.
    case auto
    /// One sample a pass: each sample's results have the same bits in any batch.
    case off
  }

  /// When a weight applied at several positions (a Conv's output positions, a MatMul's tokens) has
  /// its gradient reported as a sum over those positions (ABI 1.3 `terms`).
  ///
  /// A sum of Δ_r ⊗ a_r instead of plain columns. The kernels are the same either way; only their
  /// cost differs.
  public enum SumFactoring: String, Sendable, Hashable, CaseIterable {
    /// When a pair of samples costs fewer multiply-adds as a sum than as whole columns (a
    /// ResNet's last stages: few positions, many channels).
    case auto
    /// Every weight that can (a one-group convolution; a MatMul's right operand).
    case always
    /// None.
    case never
  }

  public var parameterPatterns: [String]? = nil
  public var output: String? = nil
  /// Size of each named symbolic dimension.
  public var dimensions: [String: Int] = [:]
  /// Per-sample shape (no batch dimension) of each named input.
  public var shapes: [String: [Int]] = [:]
  public var convolutionFactoring = SumFactoring.auto
  public var tokenFactoring = SumFactoring.auto
  public var batching = Batching.auto

  public init(
    parameterPatterns: [String]? = nil, output: String? = nil, dimensions: [String: Int] = [:],
    shapes: [String: [Int]] = [:], convolutionFactoring: SumFactoring = .auto, tokenFactoring: SumFactoring = .auto,
    batching: Batching = .auto
  ) {
    self.parameterPatterns = parameterPatterns
    self.output = output
    self.dimensions = dimensions
    self.shapes = shapes
    self.convolutionFactoring = convolutionFactoring
    self.tokenFactoring = tokenFactoring
    self.batching = batching
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
      case "dims":
        guard let entries = value as? [String: Any], !entries.isEmpty else {
          throw .invalidArgument(
            "option 'dims' must be a non-empty object of dimension name to size, e.g. {\"sequence\": 64}")
        }
        for (name, size) in entries {
          dimensions[name] = try Self.size(size, "option 'dims': '\(name)'")
        }
      case "shapes":
        guard let entries = value as? [String: Any], !entries.isEmpty else {
          throw .invalidArgument(
            "option 'shapes' must be a non-empty object of input name to shape, e.g. {\"input_ids\": [64]}")
        }
        for (name, dims) in entries {
          guard let list = dims as? [Any], !list.isEmpty else {
            throw .invalidArgument(
              "option 'shapes': '\(name)' must be a non-empty array of sizes (one sample, no batch)")
          }
          var shape: [Int] = []
          for d in list { shape.append(try Self.size(d, "option 'shapes': '\(name)'")) }
          shapes[name] = shape
        }
      case "conv_factors", "token_factors":
        guard let name = value as? String, let choice = SumFactoring(rawValue: name) else {
          let known = SumFactoring.allCases.map { "'\($0.rawValue)'" }.joined(separator: ", ")
          throw .invalidArgument("option '\(key)' must be one of \(known), got \(value)")
        }
        if key == "conv_factors" { convolutionFactoring = choice } else { tokenFactoring = choice }
      case "batching":
        guard let name = value as? String, let choice = Batching(rawValue: name) else {
          let known = Batching.allCases.map { "'\($0.rawValue)'" }.joined(separator: ", ")
          throw .invalidArgument("option 'batching' must be one of \(known), got \(value)")
        }
        batching = choice
      default:
        throw .invalidArgument(
          "unknown option '\(key)' (known: params, output, dims, shapes, conv_factors, token_factors, batching)")
      }
    }
  }

  /// Largest size an option may give a dimension, 2^24: far beyond any sequence a model takes,
  /// and small enough that the samples `open` runs (a few of that size) cannot exhaust memory.
  static let maximumDimension = 1 << 24

  /// A JSON number that is a whole size from 1 to `maximumDimension`.
  private static func size(_ value: Any, _ what: String) throws(ONNXError) -> Int {
    // JSON's true arrives as an NSNumber too (objCType "c"): not a size.
    guard let number = value as? NSNumber, String(cString: number.objCType) != "c",
      let size = Int(exactly: number.doubleValue), size >= 1, size <= maximumDimension
    else {
      throw .invalidArgument("\(what) must be a whole number from 1 to \(maximumDimension), got \(value)")
    }
    return size
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
