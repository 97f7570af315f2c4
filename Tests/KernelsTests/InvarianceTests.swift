import Kernels
import Testing

/// A kernel must not depend on how the work is cut: tile size, batch size or thread count change
/// no bit of it (`GramTile` and the projection run every sgemm in one fixed shape per entry).
///
/// The example-c backend computes each sample on its own, so its features do not depend on the
/// batch either; a backend whose per-sample outputs do would break this, not entk.
@Test(arguments: KernelKind.allCases)
func kernelIsBitIdenticalAcrossTileBatchAndThreadSettings(kind: KernelKind) throws {
  let projections: [ProjectionSettings?] =
    kind.isProjected
    ? [
      ProjectionSettings(dim: 40, distribution: .gaussian, seed: 9),
      ProjectionSettings(dim: 40, distribution: .sparse, seed: 9, density: 4),
    ] : [nil]
  for projection in projections {
    for (testRows, normalize) in [false, true].flatMap({ t in [KernelNormalization.none, .cosine].map { (t, $0) } }) {
      let run = KernelRun(kind: kind, normalize: normalize, projection: projection, testRows: testRows)
      let baseline = try run.compute().values
      // (tile side, batch size, threads) against one tile, batches of 64, one thread; the fixture
      // has 24 train and 7 test samples.
      for (tileSide, batchSize, threads) in [(5, 3, 1), (7, 1, 2), (11, 64, 2)] {
        var variant = run
        (variant.tileSide, variant.batchSize, variant.threads) = (tileSide, batchSize, threads)
        let values = try variant.compute().values
        let differing = differingBits(values, baseline)
        #expect(
          differing == 0,
          "\(kind) \(projection?.distribution.rawValue ?? "") \(testRows ? "test" : "train") × train \(normalize): tile \(tileSide) batch \(batchSize) threads \(threads): \(differing) of \(values.count) values differ"
        )
      }
    }
  }
}

/// Tiles that hold whole `GramTile` panels (used in place) and tiles that cut them (copied) give
/// the same bits, and so do projection blocks split between batches.
@Test(arguments: [KernelKind.trntk, .entk, .projPntk])
func kernelIsBitIdenticalWhetherPanelsAreCutOrWhole(kind: KernelKind) throws {
  let projection = kind.isProjected ? ProjectionSettings(dim: 24, distribution: .rademacher, seed: 3) : nil
  let count = GramTile.panelSide + 13
  let run = KernelRun(kind: kind, normalize: .cosine, projection: projection, trainCount: count)
  let baseline = try run.compute().values
  for (tileSide, batchSize, threads) in [(GramTile.panelSide + 2, 64, 2), (37, 5, 1)] {
    var variant = run
    (variant.tileSide, variant.batchSize, variant.threads) = (tileSide, batchSize, threads)
    let values = try variant.compute().values
    let differing = differingBits(values, baseline)
    #expect(
      differing == 0,
      "\(kind) \(count) samples: tile \(tileSide) batch \(batchSize) threads \(threads): \(differing) of \(values.count) values differ"
    )
  }
}
