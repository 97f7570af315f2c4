import Foundation

/// Element types entk reads and writes in `.npy` files (always little-endian).
public enum NPYDType: String, Sendable, CaseIterable {
  case float32 = "<f4"
  case float64 = "<f8"
  case int32 = "<i4"
  case int64 = "<i8"
  case uint8 = "|u1"
  /// numpy's bool: one byte, 0 or 1.
  case bool = "|b1"

  /// Bytes per element.
  public var size: Int {
    switch self {
    case .float32, .int32: return 4
    case .float64, .int64: return 8
    case .uint8, .bool: return 1
    }
  }

  /// numpy's name for the type, for messages.
  public var name: String {
    switch self {
    case .float32: return "float32"
    case .float64: return "float64"
    case .int32: return "int32"
    case .int64: return "int64"
    case .uint8: return "uint8"
    case .bool: return "bool"
    }
  }

  /// Parses a numpy `descr`, accepting the equivalent spellings numpy writes.
  init?(descr: String) {
    switch descr {
    case "<f4": self = .float32
    case "<f8": self = .float64
    case "<i4": self = .int32
    case "<i8": self = .int64
    case "|u1", "<u1", "u1": self = .uint8
    case "|b1", "<b1", "b1": self = .bool
    default: return nil
    }
  }
}

/// A dense, C-ordered array as stored in an `.npy` file: shape, dtype and little-endian bytes.
public struct NPYArray: Sendable, Equatable {
  public var shape: [Int]
  public var dtype: NPYDType
  /// Raw little-endian element bytes, `count * dtype.size` of them.
  public var bytes: Data

  /// Number of elements (the product of `shape`; 1 for a 0-d array).
  public var count: Int { shape.reduce(1, *) }

  public init(shape: [Int], dtype: NPYDType, bytes: Data) {
    precondition(bytes.count == shape.reduce(1, *) * dtype.size, "byte count must match shape")
    self.shape = shape
    self.dtype = dtype
    self.bytes = bytes
  }

  /// A float32 array holding `values` (row-major) with the given shape.
  public init(float32 values: [Float], shape: [Int]) {
    precondition(values.count == shape.reduce(1, *), "value count must match shape")
    self.init(shape: shape, dtype: .float32, bytes: values.withUnsafeBytes { Data($0) })
  }

  /// A float64 array holding `values` (row-major) with the given shape.
  public init(float64 values: [Double], shape: [Int]) {
    precondition(values.count == shape.reduce(1, *), "value count must match shape")
    self.init(shape: shape, dtype: .float64, bytes: values.withUnsafeBytes { Data($0) })
  }

  /// An int64 array holding `values` (row-major) with the given shape.
  public init(int64 values: [Int64], shape: [Int]) {
    precondition(values.count == shape.reduce(1, *), "value count must match shape")
    self.init(shape: shape, dtype: .int64, bytes: values.withUnsafeBytes { Data($0) })
  }

  /// The elements converted to Float (exact for float32, rounded for float64 and large ints).
  public func float32Values() -> [Float] {
    switch dtype {
    case .float32: return elements(Float.self)
    case .float64: return elements(Double.self).map { Float($0) }
    case .int32: return elements(Int32.self).map { Float($0) }
    case .int64: return elements(Int64.self).map { Float($0) }
    case .uint8, .bool: return bytes.map { Float($0) }
    }
  }

  /// The elements converted to Double (exact for every supported dtype but int64 beyond 2^53).
  public func float64Values() -> [Double] {
    switch dtype {
    case .float32: return elements(Float.self).map { Double($0) }
    case .float64: return elements(Double.self)
    case .int32: return elements(Int32.self).map { Double($0) }
    case .int64: return elements(Int64.self).map { Double($0) }
    case .uint8, .bool: return bytes.map { Double($0) }
    }
  }

  /// The elements as integers; float arrays are accepted only when every value is integral.
  /// - Parameter path: named in the error.
  public func int64Values(path: String = "array") throws -> [Int64] {
    switch dtype {
    case .int32: return elements(Int32.self).map { Int64($0) }
    case .int64: return elements(Int64.self)
    case .uint8, .bool: return bytes.map { Int64($0) }
    case .float32, .float64:
      let values = float64Values()
      return try values.enumerated().map { index, value in
        guard value.rounded() == value, abs(value) < 9.0e15 else {
          throw NPYError.notIntegral(path: path, index: index, value: value)
        }
        return Int64(value)
      }
    }
  }

  private func elements<T>(_: T.Type) -> [T] {
    let n = count
    return [T](unsafeUninitializedCapacity: n) { buffer, initialized in
      bytes.withUnsafeBytes { raw in
        UnsafeMutableRawBufferPointer(buffer).copyMemory(from: raw)
      }
      initialized = n
    }
  }
}
