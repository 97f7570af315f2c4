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
