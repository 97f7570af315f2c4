/// The checksum in tile sidecars and `kernel.json`.
///
/// FNV-1a 64 run over 64-bit little-endian words
/// (a final partial word zero-padded) instead of bytes, 8× faster on multi-GB kernels and still
/// catching truncation and torn writes. Written as "fnv1a64w:" + 16 lowercase hex digits.
public struct TileChecksum {
  private var hash: UInt64 = 0xCBF2_9CE4_8422_2325
  private static let prime: UInt64 = 0x0000_0100_0000_01B3

  public init() {}

  /// Adds bytes; every call but the last must pass a multiple of 8 bytes (an `.npy` header is a
  /// multiple of 64), so hashing a file in pieces equals hashing it whole.
  public mutating func update(_ bytes: UnsafeRawBufferPointer) {
    let words = bytes.count / 8
    for index in 0..<words {
      hash = (hash ^ bytes.loadUnaligned(fromByteOffset: index * 8, as: UInt64.self)) &* Self.prime
    }
    if bytes.count % 8 != 0 {
      var tail: UInt64 = 0
      for index in words * 8..<bytes.count { tail |= UInt64(bytes[index]) << (8 * UInt64(index - words * 8)) }
      hash = (hash ^ tail) &* Self.prime
    }
  }

  public var text: String {
    let hex = String(hash, radix: 16)
    return "fnv1a64w:" + String(repeating: "0", count: 16 - hex.count) + hex
  }

  /// The checksum of one contiguous buffer.
  public static func of(_ bytes: UnsafeRawBufferPointer) -> String {
    var checksum = TileChecksum()
    checksum.update(bytes)
    return checksum.text
  }
}
