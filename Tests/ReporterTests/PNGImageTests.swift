import EntkTestSupport
import Foundation
import Testing

@testable import Reporter

@Test func pngDecodesToThePixelsWrittenWithAnIndependentDecoder() throws {
  // 3×2 RGB and 70×300 grayscale (more than one stored deflate block).
  let directory = try TestEnvironment.temporaryDirectory()
  defer { try? FileManager.default.removeItem(at: directory) }
  let images = [
    PNGImage(width: 3, height: 2, channels: 3, pixels: (0..<18).map { UInt8($0 * 13) }),
    PNGImage(width: 300, height: 700, channels: 1, pixels: (0..<210_000).map { UInt8(truncatingIfNeeded: $0 * 7) }),
  ]
  for (index, image) in images.enumerated() {
    let url = directory.appendingPathComponent("i\(index).png")
    try image.encoded().write(to: url)
    let script = """
      import sys, zlib, struct
      data = open(sys.argv[1], "rb").read()
      assert data[:8] == b"\\x89PNG\\r\\n\\x1a\\n"
      pos, idat, info = 8, b"", None
      while pos < len(data):
          (length,) = struct.unpack(">I", data[pos:pos + 4]); kind = data[pos + 4:pos + 8]; body = data[pos + 8:pos + 8 + length]
          (crc,) = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])
          assert zlib.crc32(kind + body) == crc, kind
          if kind == b"IHDR": info = struct.unpack(">IIBBBBB", body)
          if kind == b"IDAT": idat += body
          pos += 12 + length
      width, height, depth, color = info[:4]
      channels = {0: 1, 2: 3}[color]
      raw = zlib.decompress(idat)
      stride = width * channels + 1
      assert all(raw[y * stride] == 0 for y in range(height))
      pixels = b"".join(raw[y * stride + 1:(y + 1) * stride] for y in range(height))
      print(width, height, channels, sum(pixels), len(pixels))
      """
    let scriptURL = directory.appendingPathComponent("decode.py")
    try script.write(to: scriptURL, atomically: true, encoding: .utf8)
    let result = try runCommand(URL(fileURLWithPath: "/usr/bin/env"), ["python3", scriptURL.path, url.path])
    #expect(result.status == 0, "\(result.stderr)")
    let expected =
      "\(image.width) \(image.height) \(image.channels) \(image.pixels.reduce(0) { $0 + Int($1) }) \(image.pixels.count)"
    #expect(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == expected)
  }
}
