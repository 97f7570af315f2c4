import Testing

@testable import Kernels

/// Values printed by tools/projection_reference.py, an independent numpy implementation of
/// docs/projection.md, as float32 bit patterns.
@Test(arguments: [
  (ProjectionDistribution.gaussian, UInt64(0), 0, 0, UInt32(3_194_125_728)),
  (.gaussian, 0, 1, 7, 3_190_906_750),
  (.gaussian, 0, 4, 69999, 1_050_588_310),
  (.gaussian, 42, 3, 4096, 1_055_835_859),
  (.gaussian, 42, 4, 69999, 3_213_813_682),
  (.gaussian, UInt64.max, 1, 7, 1_064_705_211),
  (.rademacher, 0, 0, 0, 3_202_677_038),
  (.rademacher, 42, 4, 69999, 1_055_193_390),
  (.rademacher, UInt64.max, 3, 4096, 3_202_677_038),
])
func projectionEntryMatchesNumpyReference(
  distribution: ProjectionDistribution, seed: UInt64, row: Int, column: Int, bits: UInt32
) {
  let projection = CounterProjection(rows: 5, columns: 70000, distribution: distribution, seed: seed)
  #expect(projection.entry(row: row, column: column).bitPattern == bits)
}

@Test func gaussianProjectionHasVarianceOneOverK() {
  let projection = CounterProjection(rows: 50, columns: 2000, distribution: .gaussian, seed: 1)
  var sum = 0.0
  var squares = 0.0
  for row in 0..<50 {
    for column in 0..<2000 {
      let value = Double(projection.entry(row: row, column: column))
      sum += value
      squares += value * value
    }
  }
  let count = 100_000.0
  #expect(abs(sum / count) < 0.003)
  #expect(abs(squares / count * 50 - 1) < 0.02)
}

/// `fill` (vectorised draws and candidates, checked, libm where a candidate is too close to a
/// rounding boundary) gives `entry`'s bits for every entry of large dense blocks, across seeds and
/// at a column offset far from 0.
@Test(arguments: [ProjectionDistribution.gaussian, .rademacher], [UInt64(0), 77, UInt64.max])
func denseFillHasTheBitsOfEachEntry(distribution: ProjectionDistribution, seed: UInt64) {
  let projection = CounterProjection(rows: 40, columns: 2_000_000, distribution: distribution, seed: seed)
  let (rows, columns) = (0..<40, 1_900_000..<1_950_000)
  let block = UnsafeMutablePointer<Float>.allocate(capacity: rows.count * columns.count)
  defer { block.deallocate() }
  projection.fill(rows: rows, columns: columns, into: block)
  var differing = 0
  for row in rows {
    for (offset, column) in columns.enumerated()
    where block[row * columns.count + offset].bitPattern != projection.entry(row: row, column: column).bitPattern {
      differing += 1
    }
  }
  #expect(differing == 0, "seed \(seed): \(differing) of \(rows.count * columns.count) entries differ")
}
