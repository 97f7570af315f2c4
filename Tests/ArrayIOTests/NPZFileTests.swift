import EntkTestSupport
import Foundation
import Testing

@testable import ArrayIO

/// The values `tools/fixtures/make_npz.py` writes (numpy's savez and savez_compressed).
private let expectedIDs: [Int64] = (0..<3).flatMap { i in (0..<4).map { j in Int64(10 * i + j) } }
private let expectedMask: [Int64] = (0..<3).flatMap { i in (0..<4).map { j in j < 4 - i ? 1 : 0 } }
private let expectedX: [Float] = (0..<3).flatMap { i in (0..<2).map { k in Float(i) + Float(k) / 4 } }

@Test(arguments: ["stored.npz", "compressed.npz"])
func numpyArchivesLoadWithNamesTypesAndValues(name: String) throws {
  let arrays = try NPZFile.read(TestEnvironment.fixture("npz/\(name)"))
  #expect(arrays.map(\.name) == ["input_ids", "attention_mask", "x"])
  let (ids, mask, x) = (arrays[0].array, arrays[1].array, arrays[2].array)
  #expect(ids.dtype == .int64 && ids.shape == [3, 4])
  #expect(try ids.int64Values() == expectedIDs)
  #expect(mask.dtype == .bool && mask.shape == [3, 4])
  #expect(try mask.int64Values() == expectedMask)
  #expect(x.dtype == .float32 && x.shape == [3, 2])
  #expect(x.float32Values() == expectedX)
}

private func decodeError(_ data: Data) -> String {
  do {
    _ = try NPZFile.decode(data, path: "bad.npz")
    return "no error"
  } catch {
    return "\(error)"
  }
}

@Test func corruptArchivesAreRefusedWithAReason() throws {
  let compressed = try Data(contentsOf: TestEnvironment.fixture("npz/compressed.npz"))
  let stored = try Data(contentsOf: TestEnvironment.fixture("npz/stored.npz"))
  #expect(decodeError(Data("not a zip".utf8)).contains("not an .npz file"))
  #expect(decodeError(Data()).contains("not an .npz file"))
  // Cut inside the entries: the central directory is gone.
  #expect(decodeError(compressed.prefix(compressed.count / 2)).contains("not an .npz file"))
  // A flipped byte inside the first entry's data: the CRC-32 (or inflate) catches it.
  for data in [stored, compressed] {
    var flipped = data
    let at = flipped.startIndex + 120
    flipped[at] ^= 0x5A
    let message = decodeError(flipped)
    #expect(message.contains("CRC-32") || message.contains("inflate") || message.contains("malformed"), "\(message)")
  }
  // Every truncation at the end and every single-byte corruption of the directory fails cleanly.
  for cut in 1..<40 {
    #expect(decodeError(stored.prefix(stored.count - cut)) != "no error")
  }
  for offset in (stored.count - 120)..<stored.count {
    var corrupt = stored
    corrupt[corrupt.startIndex + offset] ^= 0xFF
    _ = decodeError(corrupt)  // must not crash; some bytes (timestamps, comments) are not checked
  }
}

@Test func anEntryClaimingAHugeSizeIsRefusedBeforeAllocating() throws {
  var data = try Data(contentsOf: TestEnvironment.fixture("npz/compressed.npz"))
  // The first central-directory record's uncompressed size (offset 24 in the record) set to 2^32 - 2.
  let signature = Data([0x50, 0x4b, 0x01, 0x02])
  let record = try #require(data.range(of: signature)).lowerBound - data.startIndex
  for k in 0..<4 { data[data.startIndex + record + 24 + k] = k == 0 ? 0xFE : 0xFF }
  #expect(decodeError(data).contains("claims"))
}
