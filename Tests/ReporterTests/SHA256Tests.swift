import EntkTestSupport
import Foundation
import Reporter
import Testing

@Test func sha256MatchesFIPSVectors() {
  #expect(SHA256.hex(Data()) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
  #expect(SHA256.hex(Data("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
  #expect(
    SHA256.hex(Data("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8))
      == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
}

@Test func sha256MatchesSha256sumAcrossBlockBoundaries() throws {
  let directory = try TestEnvironment.temporaryDirectory()
  defer { try? FileManager.default.removeItem(at: directory) }
  for length in [55, 56, 63, 64, 65, 119, 120, 1000, 100_003] {
    let bytes = Data((0..<length).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) })
    let url = directory.appendingPathComponent("f\(length)")
    try bytes.write(to: url)
    let result = try runCommand(URL(fileURLWithPath: "/usr/bin/env"), ["sha256sum", url.path])
    #expect(result.status == 0)
    #expect(try SHA256.hex(fileAt: url) == String(result.stdout.prefix(64)), "length \(length)")
  }
}
