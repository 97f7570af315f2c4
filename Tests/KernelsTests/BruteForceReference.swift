import BackendLoader
import Foundation
import Kernels

/// Kernels computed the slow, obvious way in float64 from materialised per-sample Jacobians
/// (`BackendModel.jacobian`) and embeddings, independently of the tiled sgemm path.
struct BruteForceReference: Sendable {
  let c: Int
  let p: Int
  let groups: [ParameterGroup]
  /// Jacobians, indexed [sample][class][parameter].
  let rowJacobians: [[[Double]]]
  let columnJacobians: [[[Double]]]
  let rowEmbeddings: [[Double]]
  let columnEmbeddings: [[Double]]

  init(fixture: KernelFixture = .exampleMLP, testRows: Bool) throws {
    let model = try fixture.models(1)[0]
    let d = model.description
    (c, p, groups) = (d.numOutputs, d.numParams, d.parameterGroups)
    func jacobians(_ set: SampleSet) throws -> [[[Double]]] {
      let flat = try model.jacobian(set.batch)
      return (0..<set.count).map { i in
        (0..<d.numOutputs).map { k in
          flat[(i * d.numOutputs + k) * d.numParams..<(i * d.numOutputs + k + 1) * d.numParams].map(Double.init)
        }
      }
    }
    func embeddings(_ set: SampleSet) throws -> [[Double]] {
      let flat = try model.forward(set.batch, withEmbedding: true).embedding ?? []
      return (0..<set.count).map { i in flat[i * d.embeddingSize..<(i + 1) * d.embeddingSize].map(Double.init) }
    }
    let train = try fixture.samples(fixture.train, inputs: d.inputs)
    let rows = testRows ? try fixture.samples(fixture.test, inputs: d.inputs) : train
    rowJacobians = try jacobians(rows)
    columnJacobians = try jacobians(train)
    rowEmbeddings = try embeddings(rows)
    columnEmbeddings = try embeddings(train)
  }

  static func dot(_ a: [Double], _ b: [Double], _ range: Range<Int>) -> Double {
    var sum = 0.0
    for index in range { sum += a[index] * b[index] }
    return sum
  }

  /// Pair value(s) of `kind` for Jacobians a, b (C × P), embeddings, and projected per-class
  /// gradients (R g_c, [C][k]); [C·C] for entk, [L] for layers, else one value.
  func pair(
    _ kind: KernelKind, _ a: [[Double]], _ b: [[Double]], _ ea: [Double], _ eb: [Double], _ pa: [[Double]],
    _ pb: [[Double]]
  ) -> [Double] {
    let all = 0..<p
    switch kind {
    case .entk:
      return (0..<c).flatMap { x in (0..<c).map { y in Self.dot(a[x], b[y], all) } }
    case .trntk:
      return [(0..<c).reduce(0) { $0 + Self.dot(a[$1], b[$1], all) }]
    case .pntk:
      let sa = (0..<p).map { q in (0..<c).reduce(0) { $0 + a[$1][q] } }
      let sb = (0..<p).map { q in (0..<c).reduce(0) { $0 + b[$1][q] } }
      return [Self.dot(sa, sb, all) / Double(c)]
    case .layers:
      return groups.map { g in (0..<c).reduce(0) { $0 + Self.dot(a[$1], b[$1], g.offset..<g.offset + g.count) } }
    case .em:
      return [Self.dot(ea, eb, 0..<ea.count)]
    case .projTrntk:
      return [(0..<c).reduce(0) { $0 + Self.dot(pa[$1], pb[$1], 0..<pa[$1].count) }]
    case .projPntk:
      // R is linear: R Σ_c g_c = Σ_c R g_c.
      let k = pa[0].count
      let sa = (0..<k).map { r in (0..<c).reduce(0) { $0 + pa[$1][r] } }
      let sb = (0..<k).map { r in (0..<c).reduce(0) { $0 + pb[$1][r] } }
      return [Self.dot(sa, sb, 0..<k) / Double(c)]
    }
  }

  /// The kernel in entk's stored layout ([N, M], [N, M, C, C] or [L, N, M]), float64.
  func kernel(_ kind: KernelKind, normalize: KernelNormalization, projection settings: ProjectionSettings? = nil)
    -> [Double]
  {
    let projection = settings.map { s in
      let generator = CounterProjection(s, columns: p)
      return (0..<s.dim).map { r in (0..<p).map { Double(generator.entry(row: r, column: $0)) } }
    }
    let (n, m) = (rowJacobians.count, columnJacobians.count)
    func project(_ jacobians: [[[Double]]]) -> [[[Double]]] {
      guard let projection else { return jacobians.map { _ in [] } }
      return jacobians.map { sample in sample.map { g in projection.map { Self.dot($0, g, 0..<p) } } }
    }
    let (rowProjected, columnProjected) = (project(rowJacobians), project(columnJacobians))
    var values = [[[Double]]](repeating: [[Double]](repeating: [], count: m), count: n)
    for i in 0..<n {
      for j in 0..<m {
        values[i][j] = pair(
          kind, rowJacobians[i], columnJacobians[j], rowEmbeddings[i], columnEmbeddings[j], rowProjected[i],
          columnProjected[j])
      }
    }
    if normalize == .cosine {
      let rowSelf = (0..<n).map {
        pair(
          kind, rowJacobians[$0], rowJacobians[$0], rowEmbeddings[$0], rowEmbeddings[$0], rowProjected[$0],
          rowProjected[$0])
      }
      let columnSelf = (0..<m).map {
        pair(
          kind, columnJacobians[$0], columnJacobians[$0], columnEmbeddings[$0], columnEmbeddings[$0],
          columnProjected[$0], columnProjected[$0])
      }
      for i in 0..<n {
        for j in 0..<m {
          for v in values[i][j].indices {
            // entk: block (x, y) is normalised by the (x, x) and (y, y) self-values.
            let (x, y) = kind == .entk ? (v / c * (c + 1), v % c * (c + 1)) : (v, v)
            values[i][j][v] /= (rowSelf[i][x] * columnSelf[j][y]).squareRoot()
          }
        }
      }
    }
    switch kind {
    case .layers:
      return (0..<groups.count).flatMap { l in (0..<n).flatMap { i in (0..<m).map { j in values[i][j][l] } } }
    default:
      return values.flatMap { $0.flatMap { $0 } }
    }
  }
}
