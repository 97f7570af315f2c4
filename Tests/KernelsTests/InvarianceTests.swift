import Kernels
import Testing

/// A kernel must not depend on how the work is cut: tile size, batch size or thread count.
///
/// Values agree to float32 rounding, not bit for bit: OpenBLAS rounds differently for different
/// matrix shapes (edge micro-kernels, thread splits), and tile and batch sizes change the shapes.
/// The same settings always give the same bits (see the resume tests in CLITests).
@Test(arguments: [KernelKind.trntk, .entk, .layers, .projTrntk, .pntk])
func kernelIsIdenticalAcrossTileBatchAndThreadSettings(kind: KernelKind) throws {
  let projection = kind.isProjected ? ProjectionSettings(dim: 40, distribution: .rademacher, seed: 9) : nil
  for testRows in [false, true] {
    let baseline = try KernelRun(kind: kind, normalize: .cosine, projection: projection, testRows: testRows).compute()
      .values
    let variants: [KernelRun] = [
      KernelRun(kind: kind, normalize: .cosine, projection: projection, testRows: testRows, tileSide: 5),
      KernelRun(kind: kind, normalize: .cosine, projection: projection, testRows: testRows, tileSide: 7, batchSize: 3),
      KernelRun(kind: kind, normalize: .cosine, projection: projection, testRows: testRows, tileSide: 24, batchSize: 1),
      KernelRun(
        kind: kind, normalize: .cosine, projection: projection, testRows: testRows, tileSide: 11, batchSize: 4,
        threads: 2),
    ]
    for variant in variants {
      let values = try variant.compute().values
      let difference = relativeError(values, baseline.map(Double.init))
      #expect(
        difference <= 1e-6,
        "\(kind) tile \(variant.tileSide ?? 0) batch \(variant.batchSize) threads \(variant.threads): relative difference \(difference)"
      )
    }
  }
}
