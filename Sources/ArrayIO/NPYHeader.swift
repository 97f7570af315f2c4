import Foundation

/// The header of an `.npy` file (format versions 1.0, 2.0 and 3.0; other minor versions are refused).
///
/// Kept separate from the data so large files (kernels, tiles) can be described, created and
/// filled at an offset without holding the whole array in memory.
public struct NPYHeader: Sendable, Equatable {
  public var dtype: NPYDType
  public var shape: [Int]

  /// Number of data bytes the header promises.
  public var dataByteCount: Int { shape.reduce(1, *) * dtype.size }

  public init(dtype: NPYDType, shape: [Int]) {
    self.dtype = dtype
    self.shape = shape
  }

  /// The encoded header: magic, version, length and the padded dict.
  ///
  /// 64-byte aligned as numpy writes it; version 1.0 unless the dict needs more than 65535 bytes.
  public func encoded() -> Data {
    let shapeText: String
    switch shape.count {
    case 1: shapeText = "(\(shape[0]),)"
    default: shapeText = "(" + shape.map(String.init).joined(separator: ", ") + ")"
    }
    let dict = "{'descr': '\(dtype.rawValue)', 'fortran_order': False, 'shape': \(shapeText), }"
    var preamble = 10
    var major: UInt8 = 1
    if dict.utf8.count + 1 + preamble > 65535 {
      major = 2
      preamble = 12
    }
    let unpadded = preamble + dict.utf8.count + 1
    let total = (unpadded + 63) / 64 * 64
    let headerText = dict + String(repeating: " ", count: total - unpadded) + "\n"
    var data = Data([0x93] + Array("NUMPY".utf8) + [major, 0])
    let length = headerText.utf8.count
    if major == 1 {
      data.append(contentsOf: [UInt8(length & 0xff), UInt8(length >> 8)])
    } else {
      data.append(contentsOf: (0..<4).map { UInt8((length >> (8 * $0)) & 0xff) })
    }
    data.append(contentsOf: Array(headerText.utf8))
    return data
  }

  /// Parses the header at the start of `data`; returns it with the offset of the first data byte.
  /// - Parameter path: named in errors.
  public static func parse(_ data: Data, path: String) throws -> (header: NPYHeader, dataOffset: Int) {
    let bytes = [UInt8](data.prefix(12))
    guard bytes.count >= 10, bytes[0] == 0x93, Array(bytes[1..<6]) == Array("NUMPY".utf8) else {
      throw NPYError.notNPY(path: path)
    }
    let major = bytes[6]
    let minor = bytes[7]
    // numpy has only ever written x.0; a reader that guessed at 1.9's layout would misread it.
    guard minor == 0 else { throw NPYError.unsupportedVersion(path: path, major: major, minor: minor) }
    let headerLength: Int
    let preamble: Int
    switch major {
    case 1:
      headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
      preamble = 10
    case 2, 3:
      guard bytes.count >= 12 else {
        throw NPYError.malformedHeader(path: path, reason: "file ends inside the preamble")
      }
      headerLength = (0..<4).reduce(0) { $0 | Int(bytes[8 + $1]) << (8 * $1) }
      preamble = 12
    default:
      throw NPYError.unsupportedVersion(path: path, major: major, minor: minor)
    }
    guard data.count >= preamble + headerLength else {
      throw NPYError.malformedHeader(
        path: path, reason: "header length \(headerLength) runs past the end of the file")
    }
    let start = data.startIndex + preamble
    let headerBytes = data[start..<start + headerLength]
    let encoding: String.Encoding = major == 3 ? .utf8 : .isoLatin1
    guard let text = String(data: headerBytes, encoding: encoding) else {
      throw NPYError.malformedHeader(path: path, reason: "header is not text")
    }
    return (try parseDict(text, path: path), preamble + headerLength)
  }

  /// Parses numpy's header dict, such as `{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }`.
  private static func parseDict(_ text: String, path: String) throws -> NPYHeader {
    func value(of key: String) throws -> Substring {
      guard let keyRange = text.range(of: "'\(key)'") ?? text.range(of: "\"\(key)\"") else {
        throw NPYError.malformedHeader(path: path, reason: "no '\(key)' key")
      }
      var rest = text[keyRange.upperBound...].drop { $0 == " " }
      guard rest.first == ":" else {
        throw NPYError.malformedHeader(path: path, reason: "no ':' after '\(key)'")
      }
      rest = rest.dropFirst().drop { $0 == " " }
      return rest
    }

    let descrRest = try value(of: "descr")
    guard let quote = descrRest.first, quote == "'" || quote == "\"",
      let close = descrRest.dropFirst().firstIndex(of: quote)
    else {
      let shown = descrRest.prefix(20)
      throw NPYError.unsupportedDType(path: path, descr: String(shown))
    }
    let descr = String(descrRest[descrRest.index(after: descrRest.startIndex)..<close])

    let fortranRest = try value(of: "fortran_order")
    let fortran: Bool
    if fortranRest.hasPrefix("False") {
      fortran = false
    } else if fortranRest.hasPrefix("True") {
      fortran = true
    } else {
      throw NPYError.malformedHeader(path: path, reason: "fortran_order is neither True nor False")
    }

    let shapeRest = try value(of: "shape")
    guard shapeRest.first == "(", let closeParen = shapeRest.firstIndex(of: ")") else {
      throw NPYError.malformedHeader(path: path, reason: "shape is not a tuple")
    }
    let inner = shapeRest[shapeRest.index(after: shapeRest.startIndex)..<closeParen]
    var shape: [Int] = []
    for part in inner.split(separator: ",") {
      let trimmed = part.trimmingCharacters(in: .whitespaces).replacingOccurrences(of: "L", with: "")
      if trimmed.isEmpty { continue }
      guard let dim = Int(trimmed), dim >= 0 else {
        throw NPYError.malformedHeader(path: path, reason: "shape entry '\(trimmed)' is not a size")
      }
      shape.append(dim)
    }

    if fortran && shape.filter({ $0 > 1 }).count > 1 { throw NPYError.fortranOrder(path: path) }
    guard let dtype = NPYDType(descr: descr) else {
      if descr.hasPrefix(">") && descr.count > 1 {
        throw NPYError.bigEndian(path: path, descr: descr)
      }
      throw NPYError.unsupportedDType(path: path, descr: descr)
    }
    let (count, overflow) = shape.reduce((1, false)) { acc, dim in
      let (product, o) = acc.0.multipliedReportingOverflow(by: dim)
      return (product, acc.1 || o)
    }
    guard !overflow, !count.multipliedReportingOverflow(by: dtype.size).overflow else {
      throw NPYError.malformedHeader(path: path, reason: "shape \(shape) is too large")
    }
    return NPYHeader(dtype: dtype, shape: shape)
  }
}
