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

  /// A factored group as the factored projection sees it: its columns, I, O and where W[o, j] is.
  struct FactoredGroup {
    /// The parameter group's index in the model (it seeds R_out and R_in).
    var index: Int
    var offset: Int
    var inputDim: Int
    var outputDim: Int
    /// The group-relative index of the weight (o, j), as the backend lays it out.
    var position: @Sendable (_ o: Int, _ j: Int) -> Int
  }

  /// `--proj-kind factored` (docs/projection.md) written out from whole gradients g (P floats):
  /// per factored group with share k·I·O/P ≥ 1, vec(R_out G R_inᵀ) for its O × I gradient G; the
  /// rest (plain columns in order, then small groups' G as [o][j]) through the sparse projection.
  static func factoredProjection(_ s: ProjectionSettings, p: Int, groups: [FactoredGroup]) -> ([Double]) -> [Double] {
    func draw(_ n: UInt64) -> UInt64 {
      var z = s.seed &+ (n &+ 1) &* 0x9E37_79B9_7F4A_7C15
      z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
      z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
      return z ^ (z >> 31)
    }
    func gaussian(_ rows: Int, _ columns: Int, seed: UInt64) -> [[Double]] {
      let generator = CounterProjection(rows: rows, columns: columns, distribution: .gaussian, seed: seed)
      return (0..<rows).map { r in (0..<columns).map { Double(generator.entry(row: r, column: $0)) } }
    }
    typealias Block = (group: FactoredGroup, rOut: [[Double]], rIn: [[Double]])
    var blocks: [Block] = []
    var small: [FactoredGroup] = []
    var used = 0
    for group in groups {
      let (i, o) = (group.inputDim, group.outputDim)
      let share = Double(s.dim * i * o) / Double(p)
      if share < 1 {
        small.append(group)
        continue
      }
      let kIn = min(i, Int(share.rounded(.down)), max(1, Int((share * Double(i) / Double(o)).squareRoot().rounded())))
      let kOut = min(o, Int((share / Double(kIn)).rounded(.down)))
      let base = UInt64(1) << 63 + 2 * UInt64(group.index)
      blocks.append((group, gaussian(kOut, o, seed: draw(base)), gaussian(kIn, i, seed: draw(base + 1))))
      used += kIn * kOut
    }
    let factoredColumns = Set(groups.flatMap { $0.offset..<$0.offset + $0.inputDim * $0.outputDim })
    let plain = (0..<p).filter { !factoredColumns.contains($0) }
    let restColumns = plain.count + small.reduce(0) { $0 + $1.inputDim * $1.outputDim }
    let kRest = s.dim - used
    let rest =
      restColumns > 0
      ? CounterProjection(
        rows: kRest, columns: restColumns, distribution: .sparse, seed: s.seed, density: min(s.density ?? 4, kRest))
      : nil
    let restMatrix = rest.map { r in
      (0..<kRest).map { row in (0..<restColumns).map { Double(r.entry(row: row, column: $0)) } }
    }
    return { g in
      var out: [Double] = []
      for (group, rOut, rIn) in blocks {
        let matrix = (0..<group.outputDim).map { o in
          (0..<group.inputDim).map { g[group.offset + group.position(o, $0)] }
        }
        for a in rOut.indices {
          for b in rIn.indices {
            var sum = 0.0
            for o in 0..<group.outputDim {
              for j in 0..<group.inputDim { sum += rOut[a][o] * matrix[o][j] * rIn[b][j] }
            }
            out.append(sum)
          }
        }
      }
      guard let restMatrix else { return out + [Double](repeating: 0, count: kRest) }
      let restVector =
        plain.map { g[$0] }
        + small.flatMap { group in
          (0..<group.outputDim).flatMap { o in (0..<group.inputDim).map { g[group.offset + group.position(o, $0)] } }
        }
      return out + restMatrix.map { Self.dot($0, restVector, 0..<restColumns) }
    }
  }

  /// The kernel in entk's stored layout ([N, M], [N, M, C, C] or [L, N, M]), float64.
  ///
  /// `factoredGroups` describes the model's factored groups for `--proj-kind factored`.
  func kernel(
    _ kind: KernelKind, normalize: KernelNormalization, projection settings: ProjectionSettings? = nil,
    factoredGroups: [FactoredGroup] = []
  ) -> [Double] {
    let projection: (([Double]) -> [Double])? = settings.map { s in
      if s.distribution == .factored { return Self.factoredProjection(s, p: p, groups: factoredGroups) }
      let generator = CounterProjection(s, columns: p)
      let r = (0..<s.dim).map { r in (0..<p).map { Double(generator.entry(row: r, column: $0)) } }
      return { g in r.map { Self.dot($0, g, 0..<g.count) } }
    }
    let (n, m) = (rowJacobians.count, columnJacobians.count)
    func project(_ jacobians: [[[Double]]]) -> [[[Double]]] {
      guard let projection else { return jacobians.map { _ in [] } }
      return jacobians.map { sample in sample.map(projection) }
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
