import Foundation

/// What every fuzz target shares: the input as bytes, split into the files of a folder where a
/// reader takes several, and a scratch folder to write them to.
enum FuzzInput {
  /// The separator between files in one input ("\n@@@@\n"): libFuzzer's comparison tracing finds
  /// it, and the seeds use it, so mutations keep the structure.
  static let separator = Array("\n@@@@\n".utf8)

  /// `bytes` cut at each separator.
  static func parts(_ bytes: [UInt8]) -> [[UInt8]] {
    var parts: [[UInt8]] = []
    var start = 0
    var index = 0
    while index + separator.count <= bytes.count {
      if bytes[index..<index + separator.count].elementsEqual(separator) {
        parts.append(Array(bytes[start..<index]))
        index += separator.count
        start = index
      } else {
        index += 1
      }
    }
    parts.append(Array(bytes[start...]))
    return parts
  }

  /// A folder of this process, emptied before each input; in /dev/shm when it exists, so writing
  /// files costs no disk.
  static let scratch: URL = {
    let base = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
    return URL(fileURLWithPath: base).appendingPathComponent("entk-fuzz-\(getpid())")
  }()

  /// Empties `scratch` (and its subfolder `name`, created) and returns that subfolder.
  static func freshFolder(_ name: String = "input") -> URL {
    try? FileManager.default.removeItem(at: scratch)
    let folder = scratch.appendingPathComponent(name)
    try? FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    return folder
  }
}

/// libFuzzer's entry point calls `fuzz` with each input; a target defines `fuzz`.
@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
  let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
  fuzz(bytes)
  return 0
}
