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

/// A folder's digest is the one the documented shell pipeline prints (find, sort, sha256sum),
/// whatever order the files were written in; renaming a file changes it; a symbolic link back to
/// an enclosing folder is not followed.
@Test func folderDigestMatchesShellListing() throws {
  let root = try TestEnvironment.temporaryDirectory()
  defer { try? FileManager.default.removeItem(at: root) }
  func make(_ name: String, files: [(String, String)]) throws -> URL {
    let folder = root.appendingPathComponent(name)
    for (path, text) in files {
      let url = folder.appendingPathComponent(path)
      try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
      try Data(text.utf8).write(to: url)
    }
    return folder
  }
  let files = [("b.npy", "weights"), ("a/Z.json", "{}"), ("a/y", "1"), (".hidden", "h"), ("B.txt", "upper")]
  let forward = try make("forward", files: files)
  let backward = try make("backward", files: files.reversed())
  try FileManager.default.createSymbolicLink(
    at: forward.appendingPathComponent("a/loop"), withDestinationURL: forward)
  try FileManager.default.createSymbolicLink(
    at: backward.appendingPathComponent("a/loop"), withDestinationURL: backward)
  let shell = try runCommand(
    URL(fileURLWithPath: "/bin/sh"),
    [
      "-c",
      "cd \"$1\" && find -L . -type f -printf '%P\\n' 2>/dev/null | LC_ALL=C sort | xargs -d '\\n' sha256sum | sha256sum",
      "sh", forward.path,
    ])
  #expect(shell.status == 0, "\(shell.stderr)")
  let digest = try ContentDigest.hex(of: forward)
  #expect(digest == String(shell.stdout.prefix(64)))
  #expect(try ContentDigest.hex(of: backward) == digest)
  try FileManager.default.moveItem(
    at: backward.appendingPathComponent("b.npy"), to: backward.appendingPathComponent("c.npy"))
  #expect(try ContentDigest.hex(of: backward) != digest)
  let file = forward.appendingPathComponent("b.npy")
  #expect(try ContentDigest.hex(of: file) == SHA256.hex(Data("weights".utf8)))
}
