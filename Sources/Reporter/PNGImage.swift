import Foundation

/// A minimal PNG encoder for the report's pictures: 8-bit grayscale or RGB, no interlace, the
/// image data in stored (uncompressed) deflate blocks, which every PNG reader accepts.
struct PNGImage {
  let width: Int
  let height: Int
  /// 1 (grayscale) or 3 (RGB).
  let channels: Int
  /// Row-major [height, width, channels] bytes.
  let pixels: [UInt8]

  /// The PNG file's bytes.
  func encoded() -> Data {
    precondition(pixels.count == width * height * channels && (channels == 1 || channels == 3))
    var png = Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
    var header = Data()
    header.append(bigEndian: UInt32(width))
    header.append(bigEndian: UInt32(height))
    header.append(contentsOf: [8, channels == 1 ? 0 : 2, 0, 0, 0])
    Self.chunk("IHDR", header, into: &png)
    // Scanlines, each preceded by filter type 0.
    var raw = [UInt8]()
    raw.reserveCapacity(height * (width * channels + 1))
    for y in 0..<height {
      raw.append(0)
      raw.append(contentsOf: pixels[(y * width * channels)..<((y + 1) * width * channels)])
    }
    var zlib = Data([0x78, 0x01])
    var offset = 0
    repeat {
      let length = min(65535, raw.count - offset)
      let final: UInt8 = offset + length == raw.count ? 1 : 0
      zlib.append(final)
      zlib.append(UInt8(length & 0xFF))
      zlib.append(UInt8(length >> 8))
      zlib.append(UInt8(~length & 0xFF))
      zlib.append(UInt8((~length >> 8) & 0xFF))
      zlib.append(contentsOf: raw[offset..<(offset + length)])
      offset += length
    } while offset < raw.count
    zlib.append(bigEndian: Self.adler32(raw))
    Self.chunk("IDAT", zlib, into: &png)
    Self.chunk("IEND", Data(), into: &png)
    return png
  }

  /// A `data:` URI of the encoded image, for an `<img>` inside a self-contained page.
  func dataURI() -> String { "data:image/png;base64," + encoded().base64EncodedString() }

  private static func chunk(_ type: String, _ body: Data, into png: inout Data) {
    png.append(bigEndian: UInt32(body.count))
    var typed = Data(type.utf8)
    typed.append(body)
    png.append(typed)
    png.append(bigEndian: crc32(typed))
  }

  static func crc32(_ data: Data) -> UInt32 {
    var crc: UInt32 = 0xFFFF_FFFF
    for byte in data {
      crc ^= UInt32(byte)
      for _ in 0..<8 { crc = (crc >> 1) ^ (0xEDB8_8320 & (0 &- (crc & 1))) }
    }
    return ~crc
  }

  static func adler32(_ bytes: [UInt8]) -> UInt32 {
    var a: UInt32 = 1
    var b: UInt32 = 0
    for byte in bytes {
      a = (a + UInt32(byte)) % 65521
      b = (b + a) % 65521
    }
    return b << 16 | a
  }
}

extension Data {
  fileprivate mutating func append(bigEndian value: UInt32) {
    append(contentsOf: [
      UInt8(value >> 24), UInt8((value >> 16) & 0xFF), UInt8((value >> 8) & 0xFF), UInt8(value & 0xFF),
    ])
  }
}
