/// A dense, row-major tensor as the interpreter holds it: float32, int64 or bool elements.
///
/// Integer ONNX types that graphs use for shapes and indices (int32, int64, uint8...) are
/// widened to int64 when read; float64 is narrowed to float32 (`TensorProtoDecoder.narrowed`);
/// float16 is not supported.
public struct Tensor: Sendable, Equatable {
  /// The elements, row-major.
  public enum Elements: Sendable, Equatable {
    case float([Float])
    case int64([Int64])
    case bool([Bool])
  }

  public var shape: [Int]
  public var elements: Elements

  public init(shape: [Int], floats: [Float]) {
    self.shape = shape
    self.elements = .float(floats)
  }

  public init(shape: [Int], ints: [Int64]) {
    self.shape = shape
    self.elements = .int64(ints)
  }

  public init(shape: [Int], bools: [Bool]) {
    self.shape = shape
    self.elements = .bool(bools)
  }

  /// A float tensor of zeros.
  public static func zeros(_ shape: [Int]) -> Tensor {
    Tensor(shape: shape, floats: [Float](repeating: 0, count: shape.reduce(1, *)))
  }

  /// Number of elements.
  public var count: Int { shape.reduce(1, *) }

  public var rank: Int { shape.count }

  /// ONNX's name for the element type, for messages.
  public var typeName: String {
    switch elements {
    case .float: return "float"
    case .int64: return "int64"
    case .bool: return "bool"
    }
  }

  public var isFloat: Bool {
    if case .float = elements { return true }
    return false
  }

  /// The float elements, or an error naming `what` when the tensor holds another type (an
  /// operator this backend computes in float32 only: reported as unsupported).
  public func floats(_ what: @autoclosure () -> String) throws(ONNXError) -> [Float] {
    guard case .float(let values) = elements else {
      throw .unsupported("\(what()) has element type \(typeName); this operator is implemented for float32 only")
    }
    return values
  }

  /// The integer elements (bools as 0/1), or an error naming `what` for a float tensor.
  public func ints(_ what: @autoclosure () -> String) throws(ONNXError) -> [Int64] {
    switch elements {
    case .int64(let values): return values
    case .bool(let values): return values.map { $0 ? 1 : 0 }
    case .float: throw .typeMismatch("\(what()) must be an integer tensor, got float")
    }
  }

  /// The bool elements (non-zero integers are true), or an error naming `what`.
  public func bools(_ what: @autoclosure () -> String) throws(ONNXError) -> [Bool] {
    switch elements {
    case .bool(let values): return values
    case .int64(let values): return values.map { $0 != 0 }
    case .float: throw .typeMismatch("\(what()) must be bool, got float")
    }
  }

  /// The same elements viewed with another shape of equal element count.
  func reshaped(_ newShape: [Int]) -> Tensor {
    var copy = self
    copy.shape = newShape
    return copy
  }

  /// Gathers elements by index: result[i] = self[map[i]], or `fill` where map[i] < 0.
  func gathering(_ map: [Int], shape newShape: [Int], fill: Float = 0) -> Tensor {
    switch elements {
    case .float(let v):
      let values = [Float](unsafeUninitializedCapacity: map.count) { out, count in
        v.withUnsafeBufferPointer { v in
          map.withUnsafeBufferPointer { map in
            for i in 0..<map.count { out[i] = map[i] >= 0 ? v[map[i]] : fill }
          }
        }
        count = map.count
      }
      return Tensor(shape: newShape, floats: values)
    case .int64(let v): return Tensor(shape: newShape, ints: map.map { $0 >= 0 ? v[$0] : Int64(fill) })
    case .bool(let v): return Tensor(shape: newShape, bools: map.map { $0 >= 0 ? v[$0] : fill != 0 })
    }
  }
}
