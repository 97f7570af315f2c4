import Kernels
import Testing

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

@Test func symmetricGridHoldsOnlyTilesOnAndAboveTheDiagonal() {
  let grid = TileGrid(rows: 10, columns: 10, tileRows: 4, tileColumns: 4, symmetric: true)
  #expect(grid.tiles.map(\.description) == ["0,0", "0,1", "0,2", "1,1", "1,2", "2,2"])
  #expect(grid.rowRange(TileIndex(row: 2, column: 2)) == 8..<10)
  #expect(!grid.contains(TileIndex(row: 1, column: 0)))
}
