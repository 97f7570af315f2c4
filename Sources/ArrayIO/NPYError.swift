/// Why an `.npy` file could not be read or written.
public enum NPYError: Error, CustomStringConvertible, Equatable {
  case cannotRead(path: String, reason: String)
  case cannotWrite(path: String, reason: String)
  case notNPY(path: String)
  case unsupportedVersion(path: String, major: UInt8, minor: UInt8)
  case malformedHeader(path: String, reason: String)
  case fortranOrder(path: String)
  case bigEndian(path: String, descr: String)
  case unsupportedDType(path: String, descr: String)
  case truncated(path: String, expectedBytes: Int, actualBytes: Int)
  case trailingData(path: String, expectedBytes: Int, actualBytes: Int)
  case shapeMismatch(path: String, expected: String, actual: [Int])
  case notIntegral(path: String, index: Int, value: Double)
  case nonFinite(path: String, index: Int)

  public var description: String {
    switch self {
    case .cannotRead(let path, let reason): return "\(path): cannot read: \(reason)"
    case .cannotWrite(let path, let reason): return "\(path): cannot write: \(reason)"
    case .notNPY(let path): return "\(path): not an .npy file (missing \\x93NUMPY magic)"
    case .unsupportedVersion(let path, let major, let minor):
      return "\(path): unsupported .npy format version \(major).\(minor) (supported: 1.0, 2.0, 3.0)"
    case .malformedHeader(let path, let reason): return "\(path): malformed .npy header: \(reason)"
    case .fortranOrder(let path):
      return "\(path): array is in Fortran order; save it in C order (numpy.ascontiguousarray)"
    case .bigEndian(let path, let descr):
      return
        "\(path): big-endian dtype '\(descr)' is not supported; convert with arr.astype(arr.dtype.newbyteorder('<'))"
    case .unsupportedDType(let path, let descr):
      return "\(path): unsupported dtype '\(descr)' (supported: float32, float64, int32, int64, uint8)"
    case .truncated(let path, let expected, let actual):
      return "\(path): truncated: header promises \(expected) data bytes, file has \(actual)"
    case .trailingData(let path, let expected, let actual):
      return "\(path): shape/data mismatch: header promises \(expected) data bytes, file has \(actual)"
    case .shapeMismatch(let path, let expected, let actual):
      return "\(path): expected shape \(expected), got \(actual)"
    case .notIntegral(let path, let index, let value):
      return "\(path): element \(index) is \(value), expected an integer"
    case .nonFinite(let path, let index):
      return "\(path): element \(index) is NaN or infinite"
    }
  }
}
