import CEntkABI

/// The element type of a model input, with the ABI's codes (ONNX's TensorProto.DataType values).
public enum InputElementType: Int32, Sendable, Codable, CaseIterable, CustomStringConvertible {
  case float32 = 1
  case int32 = 6
  case int64 = 7
  /// One byte per element, 0 or 1.
  case bool = 9

  /// Bytes per element.
  public var byteSize: Int {
    switch self {
    case .float32, .int32: return 4
    case .int64: return 8
    case .bool: return 1
    }
  }

  /// Encoded by name (`"int64"`), as people read `entk inspect --json`.
  public func encode(to encoder: Encoder) throws {
    var container = encoder.singleValueContainer()
    try container.encode(description)
  }

  public init(from decoder: Decoder) throws {
    let name = try decoder.singleValueContainer().decode(String.self)
    guard let type = Self.allCases.first(where: { $0.description == name }) else {
      throw DecodingError.dataCorrupted(
        .init(codingPath: decoder.codingPath, debugDescription: "unknown element type '\(name)'"))
    }
    self = type
  }

  public var description: String {
    switch self {
    case .float32: return "float32"
    case .int32: return "int32"
    case .int64: return "int64"
    case .bool: return "bool"
    }
  }
}

/// One named input of a model: what a data file must hold for it, per sample.
public struct ModelInput: Sendable, Equatable, Codable, CustomStringConvertible {
  /// The name data files use for this input's array, such as `input_ids`.
  public var name: String
  public var elementType: InputElementType
  /// One sample's shape (no batch dimension).
  public var shape: [Int]

  public init(name: String, elementType: InputElementType, shape: [Int]) {
    self.name = name
    self.elementType = elementType
    self.shape = shape
  }

  /// Elements per sample: the product of `shape`.
  public var sampleElements: Int { shape.reduce(1, *) }
  /// Bytes per sample.
  public var sampleBytes: Int { sampleElements * elementType.byteSize }

  /// As messages name it: `'input_ids' (int64 [16])`.
  public var description: String { "'\(name)' (\(elementType) \(shape))" }
}
