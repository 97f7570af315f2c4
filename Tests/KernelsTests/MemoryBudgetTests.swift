import BackendLoader
import EntkTestSupport
import Foundation
import Testing

@testable import Kernels

@Test(arguments: [
  ("2G", 2 << 30), ("512M", 512 << 20), ("1.5G", 3 << 29), ("64k", 64 << 10), ("2GiB", 2 << 30), ("1000000", 1_000_000),
  ("3MB", 3 << 20),
])
func memoryBudgetParsesBinarySizes(text: String, bytes: Int) throws {
  #expect(try MemoryBudget(parsing: text).bytes == bytes)
}

@Test(arguments: ["", "lots", "-1G", "0", "2X", "G"])
func memoryBudgetRejectsNonSizes(text: String) {
  #expect(throws: KernelError.self) { try MemoryBudget(parsing: text) }
}

@Test func tileSizingShrinksTilesToTheBudgetAndRefusesLessThanOneBlock() throws {
  let description = try KernelFixture.exampleMLP.models(1)[0].description
  let sizing = TileSizing(kind: .trntk, description: description, batchSize: 64)
  let side = try sizing.tileSide(budget: 8 << 20, rows: 1000, columns: 1000)
  #expect(sizing.bytes(rows: side, columns: side) <= 8 << 20)
  #expect(sizing.bytes(rows: side + 1, columns: side + 1) > 8 << 20)
  #expect(throws: KernelError.self) { try sizing.tileSide(budget: 100_000, rows: 1000, columns: 1000) }
}

/// A train × train kernel whose samples' features fit once, but not twice, is one diagonal tile
/// (which holds one block of features), not a grid that computes them again.
@Test func symmetricKernelThatFitsOnceIsOneDiagonalTile() throws {
  let description = try KernelFixture.exampleMLP.models(1)[0].description
  let sizing = TileSizing(kind: .trntk, description: description, batchSize: 64)
  let budget = sizing.diagonalBytes(samples: 100)
  #expect(sizing.bytes(rows: 100, columns: 100) > budget)
  #expect(try sizing.tileSide(budget: budget, rows: 100, columns: 100, symmetric: true) == 100)
  #expect(try sizing.tileSide(budget: budget, rows: 100, columns: 100) < 100)
  #expect(try sizing.tileSide(budget: budget - 1, rows: 100, columns: 100, symmetric: true) < 100)
}

@Test func symmetricGridHoldsOnlyTilesOnAndAboveTheDiagonal() {
  let grid = TileGrid(rows: 10, columns: 10, tileRows: 4, tileColumns: 4, symmetric: true)
  #expect(grid.tiles.map(\.description) == ["0,0", "0,1", "0,2", "1,1", "1,2", "2,2"])
  #expect(grid.rowRange(TileIndex(row: 2, column: 2)) == 8..<10)
  #expect(!grid.contains(TileIndex(row: 1, column: 0)))
}

/// A fake system root holding `files` (path relative to the root → contents).
private func fakeRoot(_ files: [String: String]) throws -> URL {
  let root = try TestEnvironment.temporaryDirectory("available-memory")
  for (path, text) in files {
    let url = root.appendingPathComponent(path)
    try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
    try Data(text.utf8).write(to: url)
  }
  return root
}

@Test func availableMemoryIsMemAvailableLoweredToTheRoomUnderACgroupLimit() throws {
  let meminfo = "MemTotal:       24684100 kB\nMemFree:        19676132 kB\nMemAvailable:   23683172 kB\n"
  let system = 23_683_172 * 1024
  // No cgroup limit (v1's unlimited is a huge number, v2's the word max).
  for files in [
    ["proc/meminfo": meminfo],
    ["proc/meminfo": meminfo, "sys/fs/cgroup/memory.max": "max\n", "sys/fs/cgroup/memory.current": "1000\n"],
    [
      "proc/meminfo": meminfo, "sys/fs/cgroup/memory/memory.limit_in_bytes": "9223372036854771712\n",
      "sys/fs/cgroup/memory/memory.usage_in_bytes": "4579008512\n",
    ],
  ] {
    let available = AvailableMemory.read(root: try fakeRoot(files))
    #expect(available == AvailableMemory(system: system, cgroup: nil), "\(files)")
    #expect(available.defaultBudget == system / 2)
  }
  // v2 and v1 limits below MemAvailable: 8 GiB limit, 3 GiB used.
  for (limit, usage) in [
    ("sys/fs/cgroup/memory.max", "sys/fs/cgroup/memory.current"),
    ("sys/fs/cgroup/memory/memory.limit_in_bytes", "sys/fs/cgroup/memory/memory.usage_in_bytes"),
  ] {
    let root = try fakeRoot(["proc/meminfo": meminfo, limit: "\(8 << 30)\n", usage: "\(3 << 30)\n"])
    let available = AvailableMemory.read(root: root)
    #expect(available.cgroup == 5 << 30 && available.bytes == 5 << 30)
    #expect(available.defaultBudget == 5 << 29)
    #expect(available.defaultBudgetSource == "50% of the 5.0 GiB available (the cgroup memory limit)")
  }
  // Nothing readable: the fixed 2 GiB.
  #expect(AvailableMemory.read(root: try fakeRoot([:])).defaultBudget == 2 << 30)
  #expect(AvailableMemory.memAvailable("MemTotal: 5 kB\n") == nil)
}

/// Issue 12's case: a 10-class model of 11,169,162 parameters, proj-trntk with k = 1024.
///
/// The estimate follows the batch: a batch's gradients (batch × C × P floats), one 4096-column chunk
/// of R and the projected rows, not 32-sample blocks of gradients (28.6 GB before).
@Test(arguments: [ProjectionDistribution.gaussian, .sparse])
func projectedEstimateFollowsTheBatchSize(distribution: ProjectionDistribution) {
  let (c, p, k) = (10, 11_169_162, 1024)
  let description = ModelDescription(
    inputShape: [3, 32, 32], numOutputs: c, numParams: p, embeddingSize: 0,
    parameterGroups: [ParameterGroup(name: "all", offset: 0, count: p)])
  let projection = ProjectionSettings(
    dim: k, distribution: distribution, seed: 0, density: distribution == .sparse ? 4 : nil)
  let sizing = TileSizing(kind: .projTrntk, description: description, projection: projection, batchSize: 64)
  for batch in [1, 2, 16] {
    let gradients = batch * c * p * 4
    let scratch = sizing.scratchBytes(batchSize: batch)
    // Beyond the gradients: the R chunk (k × 4096 floats, 16 MiB) and small buffers.
    #expect(scratch >= gradients && scratch - gradients < 64 << 20, "batch \(batch): \(scratch) bytes")
  }
  // With 8 GiB, half for the batch: 9 samples' gradients (447 MB each) and the chunk.
  let batch = sizing.largestBatch(upTo: 64, budget: 4 << 30)
  #expect(batch == 9)
  #expect(sizing.scratchBytes(batchSize: batch) <= 4 << 30 && sizing.scratchBytes(batchSize: batch + 1) > 4 << 30)
}

@Test func unprojectedKindsKeepTheWholeDefaultBatch() throws {
  let description = try KernelFixture.exampleMLP.models(1)[0].description
  let sizing = TileSizing(kind: .trntk, description: description, batchSize: 64)
  #expect(sizing.scratchBytes(batchSize: 64) == 0)
  #expect(sizing.largestBatch(upTo: 64, budget: 1) == 64)
}

@Test func aBufferTheSystemRefusesThrowsInsteadOfAborting() {
  // 2⁵⁰ floats (4 PiB): more than any machine maps.
  #expect(throws: KernelError.allocationFailed(bytes: 1 << 52, purpose: "a test")) {
    _ = try FloatBuffer.checked(count: 1 << 50, purpose: "a test")
  }
}
