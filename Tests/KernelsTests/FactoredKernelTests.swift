import ArrayIO
import BackendLoader
import EntkTestSupport
import Foundation
import Kernels
import Testing

/// The linear test backend: f(x) = W x + b, x ∈ R³, C = 2, both groups factored.
///
/// Its kernels have a closed form: g_c(x)·g_c(x') = x·x' + 1 for each c, so trntk = C (x·x' + 1)
/// and layers = [C x·x', C]. 150 samples span two `GramTile` panels.
private struct LinearKernelCase {
  static let (dimension, classes, samples) = (3, 2, 150)
  let library: BackendLibrary
  let train: URL
  let directory: URL
  let x: [Float]

  init() throws {
    directory = try TestEnvironment.temporaryDirectory("factored-kernel")
    library = try BackendLibrary(
      url: compileCBackend(
        source: "backends/linear_backend.c", libraryName: "libentk-backend-linear.so", into: directory))
    x = (0..<Self.samples * Self.dimension).map { Float(sin(Double($0) * 0.37) * 2) }
    train = directory.appendingPathComponent("train.npy")
    try NPYFile.write(NPYArray(float32: x, shape: [Self.samples, Self.dimension]), to: train)
  }

  func kernel(
    _ kind: KernelKind, factors: FactorUse, normalize: KernelNormalization = .none, tileSide: Int, threads: Int = 1
  ) throws -> (values: [Float], factored: Bool) {
    let settings = try KernelSettings(
      kind: kind, normalize: normalize, memory: 1 << 40, tileSize: tileSide, batchSize: 7, factors: factors)
    let job = try KernelJob(
      settings: settings, library: library, model: library.url.path, options: nil, train: .file(train), test: nil,
      threads: threads)
    let folder = directory.appendingPathComponent(
      "\(kind.rawValue)-\(factors.rawValue)-\(normalize.rawValue)-\(tileSide)-\(threads)")
    let summary = try job.run(in: folder)
    return (try NPYFile.read(try #require(summary.file)).float32Values(), summary.manifest.factored)
  }

  /// x_i·x_j in float64.
  func inner(_ i: Int, _ j: Int) -> Double {
    (0..<Self.dimension).reduce(0.0) { $0 + Double(x[i * Self.dimension + $1]) * Double(x[j * Self.dimension + $1]) }
  }
}

@Test(arguments: [KernelKind.trntk, .layers, .entk])
func factoredAndJacobianKernelsMatchTheClosedForm(kind: KernelKind) throws {
  let linear = try LinearKernelCase()
  let n = LinearKernelCase.samples
  let classes = LinearKernelCase.classes
  let c = Double(classes)
  let pairs = (0..<n).flatMap { i in (0..<n).map { (i, $0) } }
  for normalize in KernelNormalization.allCases {
    let cosine = { (k: (Int, Int) -> Double, i: Int, j: Int) in
      normalize == .none ? k(i, j) : k(i, j) / (k(i, i) * k(j, j)).squareRoot()
    }
    let reference: [Double]
    switch kind {
    case .entk:
      // Each C×C block is (x·x' + 1) I: class c's gradient only moves row c of W and b_c.
      let block = { (i: Int, j: Int) in linear.inner(i, j) + 1 }
      reference = pairs.flatMap { i, j in
        (0..<classes * classes).map { $0 / classes == $0 % classes ? cosine(block, i, j) : 0 }
      }
    default:
      // Per layer: [C x·x', C].
      let layers: [(Int, Int) -> Double] = [{ c * linear.inner($0, $1) }, { _, _ in c }]
      let groups = kind == .trntk ? [{ layers[0]($0, $1) + layers[1]($0, $1) }] : layers
      reference = groups.flatMap { k in pairs.map { cosine(k, $0, $1) } }
    }
    for factors in FactorUse.allCases {
      let (values, factored) = try linear.kernel(kind, factors: factors, normalize: normalize, tileSide: n)
      #expect(factored == (factors == .auto))
      let error = relativeError(values, reference)
      #expect(error <= 1e-6, "\(kind) \(normalize) factors \(factors): relative Frobenius error \(error)")
    }
  }
}

@Test func factoredKernelIsBitIdenticalAcrossTilesAndThreads() throws {
  let linear = try LinearKernelCase()
  for kind in [KernelKind.trntk, .layers, .entk] {
    let baseline = try linear.kernel(kind, factors: .auto, tileSide: LinearKernelCase.samples).values
    for (tileSide, threads) in [(37, 2), (128, 1)] {
      let values = try linear.kernel(kind, factors: .auto, tileSide: tileSide, threads: threads).values
      let differing = differingBits(values, baseline)
      #expect(differing == 0, "\(kind) tile \(tileSide) threads \(threads): \(differing) values differ")
    }
  }
}

@Test func aFolderComputedWithFactorsRefusesAJacobianResume() throws {
  let linear = try LinearKernelCase()
  let folder = linear.directory.appendingPathComponent("resume")
  let settings = { (factors: FactorUse) in
    try KernelSettings(kind: .trntk, memory: 1 << 40, tileSize: 64, factors: factors)
  }
  let job = { (factors: FactorUse) in
    try KernelJob(
      settings: settings(factors), library: linear.library, model: linear.library.url.path, options: nil,
      train: .file(linear.train), test: nil, threads: 1)
  }
  _ = try job(.auto).run(in: folder, tile: TileIndex(row: 0, column: 0))
  #expect {
    _ = try job(.off).run(in: folder)
  } throws: { error in
    guard case KernelError.settingsMismatch(_, let field) = error else { return false }
    return field == "factored"
  }
}

/// `--proj-kind factored` on the token backend's one-hot table, against its closed form.
///
/// Its table T [V = 6, C = 2] is a sum of one-hot
/// terms (π(o, j) = j·C + o), so class c's gradient is the matrix e_c n_xᵀ (O × I) and its block
/// is (R_out e_c) ⊗ (R_in n_x): column c of R_out times R_in applied to the token counts. With
/// k = 14 the table gets 2 × 6 (share 12), the bias 2 × 1 (share 2), no rest. The kernel is
/// Σ_c |R_out e_c|² (R_in n_x · R_in n_x') + Σ_c |R_out,b e_c|² |R_in,b|², written out here.
@Test func factoredProjectionOfOneHotTableMatchesClosedForm() throws {
  let library = try BackendLibrary(url: TokenBackend.compile())
  let train = TokenBackend.data("train.npz")
  let settings = try KernelSettings(
    kind: .projTrntk, projection: ProjectionSettings(dim: 14, distribution: .factored, seed: 21, density: 4),
    memory: 1 << 30)
  let job = try KernelJob(
    settings: settings, library: library, model: train.path, options: nil, train: .file(train), test: nil, threads: 1)
  let directory = try TestEnvironment.temporaryDirectory("factored-projection-tokens")
  defer { try? FileManager.default.removeItem(at: directory) }
  let values = try NPYFile.read(try #require(try job.run(in: directory).file)).float32Values()

  func matrix(_ rows: Int, _ columns: Int, group: UInt64, side: UInt64) -> [[Double]] {
    var z = 21 &+ ((1 << 63) + 2 * group + side &+ 1) &* 0x9E37_79B9_7F4A_7C15
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    let generator = CounterProjection(rows: rows, columns: columns, distribution: .gaussian, seed: z ^ (z >> 31))
    return (0..<rows).map { r in (0..<columns).map { Double(generator.entry(row: r, column: $0)) } }
  }
  let (v, c) = (TokenBackend.vocabulary, TokenBackend.classes)
  let (tableOut, tableIn) = (matrix(2, c, group: 0, side: 0), matrix(6, v, group: 0, side: 1))
  let (biasOut, biasIn) = (matrix(2, c, group: 1, side: 0), matrix(1, 1, group: 1, side: 1))
  let columnNorms = { (r: [[Double]]) in (0..<c).reduce(0.0) { sum, k in sum + r.reduce(0) { $0 + $1[k] * $1[k] } } }
  let counts = TokenBackend.counts(
    ids: try NPYFile.read(TokenBackend.data("train_ids.npy")).int64Values(),
    masks: try NPYFile.read(TokenBackend.data("train_mask.npy")).int64Values())
  let projected = counts.map { n in tableIn.map { row in zip(row, n).reduce(0) { $0 + $1.0 * $1.1 } } }
  let bias = columnNorms(biasOut) * biasIn[0][0] * biasIn[0][0]
  let reference = projected.flatMap { a in
    projected.map { b in columnNorms(tableOut) * zip(a, b).reduce(0) { $0 + $1.0 * $1.1 } + bias }
  }
  #expect(relativeError(values, reference) <= 1e-5)
}
