import BackendLoader
import COpenBLAS
import Dispatch

/// The per-layer factored projection, `--proj-kind factored`.
///
/// A group whose gradient the backend gives as factors, Σ_r Δ_r ⊗ a_r (a dense layer, a convolution's positions, an embedding table's
/// rows), is projected as Σ_r (R_out Δ_r) ⊗ (R_in a_r), a k_out × k_in block, never forming its
/// O × I gradient (the Kronecker-structured projection of LoGra, Choe et al. 2024); every other
/// parameter goes through a sparse Johnson–Lindenstrauss projection. The exact rule, so another
/// tool can reproduce it (also in `docs/projection.md`):
///
/// - share_g = k·I_g·O_g / P for each factored group g; a group with share_g < 1 joins the rest.
/// - k_in = min(I_g, ⌊share_g⌋, max(1, round(√(share_g·I_g/O_g)))), k_out = min(O_g, ⌊share_g / k_in⌋):
///   the block keeps the gradient's aspect and never exceeds its share, so Σ k_out·k_in ≤ k.
/// - R_out (k_out × O_g) and R_in (k_in × I_g) are the dense Gaussian `CounterProjection`s (entries
///   N(0, 1/k_out), N(0, 1/k_in)) with seeds draw(2⁶³ + 2g) and draw(2⁶³ + 2g + 1) of the SplitMix64
///   stream seeded with the kernel's seed (g the parameter group's index).
/// - The rest — plain groups' columns in parameter order, then each small factored group's O × I
///   gradient [o][j] — is projected to k_rest = k − Σ k_out·k_in rows by the sparse `CounterProjection`
///   of density min(s, k_rest) with the kernel's seed; with no rest, those rows are 0.
/// - One class's k values: the blocks in group order (each k_out × k_in, row-major), then the rest.
///
/// So with no factored group it is exactly `--proj-kind sparse`. A sample's result depends only on
/// its own row: every product has a fixed shape per group, and the sparse part sums in float64.
struct FactoredProjection: Sendable {
  /// The split of k between the groups: what memory estimates need, without the matrices.
  struct Split: Sendable, Equatable {
    /// One factored group's k_out × k_in block.
    struct Block: Sendable, Equatable {
      /// The parameter group's index (it seeds R_out and R_in).
      var index: Int
      var group: FactorLayout.Summed
      var kIn: Int
      var kOut: Int
      /// Where the block starts in a class's k values.
      var offset: Int
    }

    /// Where a part of the rest comes from.
    enum RestPart: Sendable, Equatable {
      /// The plain block's row of each class (`count` columns).
      case plain(count: Int)
      /// A small factored group's O × I gradient, rebuilt.
      case rebuilt(FactorLayout.Summed)
    }

    let k: Int
    /// Classes per row: C for `proj-trntk`, 1 for `proj-pntk`'s rows of summed classes.
    let classes: Int
    /// Floats of a row: the layout's, or C·P without one.
    let rowLength: Int
    let blocks: [Block]
    let rest: [RestPart]
    /// P_rest, the rest's columns.
    let restColumns: Int
    /// The sparse projection's density s.
    let density: Int

    /// - Parameter layout: the rows' layout (`collapsingClasses()` for `proj-pntk`); nil when rows
    ///   are plain gradients (`classes` × P), which makes every parameter part of the rest.
    init(settings: ProjectionSettings, layout: FactorLayout?, classes: Int, description: ModelDescription) {
      k = settings.dim
      self.classes = classes
      density = settings.density ?? ProjectionSettings.defaultDensity
      let p = Double(description.numParams)
      var blocks: [Block] = []
      var small: [FactorLayout.Summed] = []
      var offset = 0
      for (index, segment) in (layout?.segments ?? []).enumerated() {
        guard let group = Self.summed(segment, classes: classes) else { continue }
        let (i, o) = (group.inputDim, group.outputDim)
        let share = Double(settings.dim) * Double(i * o) / p
        guard share >= 1 else {
          small.append(group)
          continue
        }
        let aspect = Int((share * Double(i) / Double(o)).squareRoot().rounded())
        let kIn = min(i, Int(share), max(1, aspect))
        let kOut = min(o, Int(share / Double(kIn)))
        blocks.append(Block(index: index, group: group, kIn: kIn, kOut: kOut, offset: offset))
        offset += kIn * kOut
      }
      self.blocks = blocks
      let plain = layout?.plainCount ?? description.numParams
      rest = (plain > 0 ? [RestPart.plain(count: plain)] : []) + small.map { .rebuilt($0) }
      restColumns = plain + small.reduce(0) { $0 + $1.inputDim * $1.outputDim }
      rowLength = layout?.rowLength ?? classes * description.numParams
      factoredRows = layout != nil
    }

    /// A factored segment as a sum (one outer product is a sum of one term); nil for a plain one.
    private static func summed(_ segment: FactorLayout.Segment, classes: Int) -> FactorLayout.Summed? {
      switch segment {
      case .plain: return nil
      case .summed(let group): return group
      case .factored(let input, let deltas):
        return FactorLayout.Summed(
          inputs: input, deltas: deltas, terms: 1, inputDim: input.count, outputDim: deltas.count / classes,
          oneHot: false)
      }
    }

    /// k_rest, the rows of the rest's projection (0 values when there is no rest).
    var restRows: Int { k - (blocks.last.map { $0.offset + $0.kIn * $0.kOut } ?? 0) }

    /// The sparse projection of the rest (k_rest × P_rest), nil when the rest is empty.
    func restProjection(seed: UInt64) -> CounterProjection? {
      guard restColumns > 0 else { return nil }
      return CounterProjection(
        rows: restRows, columns: restColumns, distribution: .sparse, seed: seed,
        density: min(density, restRows, CounterProjection.maximumDensity))
    }

    /// Whether rows are factored (`layout` given) rather than plain gradients.
    let factoredRows: Bool

    /// Floats of one thread's scratch for the blocks: R_in a's and R_out Δ's of the largest group.
    var blockScratchFloats: Int { blocks.reduce(0) { max($0, $1.group.terms * ($1.kIn + classes * $1.kOut)) } }

    /// Floats of scratch `project` needs for batches of at most `batchSize` samples, beyond the
    /// batch's rows: the rest's gradients and their projection (each thread's few block products
    /// are allocated on their own).
    func scratchFloats(batchSize: Int) -> Int {
      let lines = batchSize * classes
      return restProjection(seed: 0).map {
        lines * restColumns + lines * $0.rows
          + GradientProjector.scratchFloats(projection: $0, rowsPerSample: classes, batchSize: batchSize)
      } ?? 0
    }

    /// Floats of the generated R_in and R_out matrices, held for the whole run.
    var matrixFloats: Int { blocks.reduce(0) { $0 + $1.kIn * $1.group.inputDim + $1.kOut * $1.group.outputDim } }
  }

  let split: Split
  /// Per block, R_in (k_in × I) and R_out (k_out × O).
  let matrices: [(rIn: [Float], rOut: [Float])]
  let restProjection: CounterProjection?
  let threads: Int

  init(split: Split, seed: UInt64, threads: Int) {
    self.split = split
    self.threads = max(1, threads)
    let draw = { (n: UInt64) in CounterProjection.draw(seed: seed, high: Int(n >> 32), low: Int(n & 0xFFFF_FFFF)) }
    matrices = split.blocks.map { block in
      let base = UInt64(1) << 63 + 2 * UInt64(block.index)
      return (
        Self.gaussian(rows: block.kIn, columns: block.group.inputDim, seed: draw(base + 1)),
        Self.gaussian(rows: block.kOut, columns: block.group.outputDim, seed: draw(base))
      )
    }
    restProjection = split.restProjection(seed: seed)
  }

  private static func gaussian(rows: Int, columns: Int, seed: UInt64) -> [Float] {
    let projection = CounterProjection(rows: rows, columns: columns, distribution: .gaussian, seed: seed)
    return [Float](unsafeUninitializedCapacity: rows * columns) { buffer, count in
      if let base = buffer.baseAddress { projection.fill(rows: 0..<rows, columns: 0..<columns, into: base) }
      count = rows * columns
    }
  }

  /// Writes the `classes` × k projected values of each of `count` factored rows (`layout`) into `out`.
  func project(
    rows: UnsafePointer<Float>, count: Int, into out: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>
  ) {
    let (length, c, k) = (split.rowLength, split.classes, split.k)
    let parts = min(threads, count)
    let pointers = UnsafeSendable((rows, out, scratch))
    DispatchQueue.concurrentPerform(iterations: parts) { part in
      let (rows, out, _) = pointers.value
      let work = UnsafeMutablePointer<Float>.allocate(capacity: max(1, split.blockScratchFloats))
      defer { work.deallocate() }
      for sample in count * part / parts..<count * (part + 1) / parts {
        for (block, matrices) in zip(split.blocks, matrices) {
          projectBlock(block, matrices, row: rows + sample * length, into: out + sample * c * k, scratch: work)
        }
      }
    }
    guard let restProjection else {
      let rows = split.restRows
      for line in 0..<count * c where rows > 0 { (out + line * k + k - rows).update(repeating: 0, count: rows) }
      return
    }
    let lines = count * c
    let gradients = scratch
    let restColumns = split.restColumns
    let projected = gradients + lines * restColumns
    DispatchQueue.concurrentPerform(iterations: parts) { part in
      let (rows, _, gradients) = pointers.value
      for sample in count * part / parts..<count * (part + 1) / parts {
        for label in 0..<c {
          gatherRest(row: rows + sample * length, class: label, into: gradients + (sample * c + label) * restColumns)
        }
      }
    }
    GradientProjector(projection: restProjection, rowsPerSample: c, threads: threads).project(
      gradients: gradients, count: count, firstSample: 0, setCount: count, into: projected,
      scratch: projected + lines * restProjection.rows)
    let kRest = restProjection.rows
    for line in 0..<lines { (out + line * k + k - kRest).update(from: projected + line * kRest, count: kRest) }
  }

  /// One sample's block for every class: Σ_r (R_out Δ_{c,r}) ⊗ (R_in a_r) = (Δ_c R_outᵀ)ᵀ (A R_inᵀ).
  private func projectBlock(
    _ block: Split.Block, _ matrices: (rIn: [Float], rOut: [Float]), row: UnsafePointer<Float>,
    into out: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>
  ) {
    let (classes, k) = (split.classes, split.k)
    let group = block.group
    let (r, i, o) = (group.terms, group.inputDim, group.outputDim)
    let (kIn, kOut) = (block.kIn, block.kOut)
    let inputs = scratch  // R × k_in: R_in a_r
    let deltas = scratch + r * kIn  // C·R × k_out: R_out Δ_{c,r}
    matrices.rIn.withUnsafeBufferPointer { rIn in
      guard let rIn = rIn.baseAddress else { return }
      if group.oneHot {
        // R_in e_id is column id of R_in; an absent term (-1) contributes nothing.
        for term in 0..<r {
          let index = Int(row[group.inputs.lowerBound + term])
          let line = inputs + term * kIn
          if index < 0 {
            line.update(repeating: 0, count: kIn)
          } else {
            for t in 0..<kIn { line[t] = rIn[t * i + index] }
          }
        }
      } else {
        cblas_sgemm(
          CblasRowMajor, CblasNoTrans, CblasTrans, Int32(r), Int32(kIn), Int32(i), 1, row + group.inputs.lowerBound,
          Int32(i), rIn, Int32(i), 0, inputs, Int32(kIn))
      }
    }
    matrices.rOut.withUnsafeBufferPointer { rOut in
      guard let rOut = rOut.baseAddress else { return }
      cblas_sgemm(
        CblasRowMajor, CblasNoTrans, CblasTrans, Int32(classes * r), Int32(kOut), Int32(o), 1,
        row + group.deltas.lowerBound, Int32(o), rOut, Int32(o), 0, deltas, Int32(kOut))
    }
    for c in 0..<classes {
      cblas_sgemm(
        CblasRowMajor, CblasTrans, CblasNoTrans, Int32(kOut), Int32(kIn), Int32(r), 1, deltas + c * r * kOut,
        Int32(kOut), inputs, Int32(kIn), 0, out + c * k + block.offset, Int32(kIn))
    }
  }

  /// Class `label`'s rest columns of one row: its plain block row, then each small group's
  /// gradient Σ_r Δ_{c,r} ⊗ a_r as [o][j].
  private func gatherRest(row: UnsafePointer<Float>, class label: Int, into line: UnsafeMutablePointer<Float>) {
    var next = line
    for part in split.rest {
      switch part {
      case .plain(let count):
        next.update(from: row + label * count, count: count)
        next += count
      case .rebuilt(let group):
        let (r, i, o) = (group.terms, group.inputDim, group.outputDim)
        let deltas = row + group.deltas.lowerBound + label * group.classWidth
        if group.oneHot {
          next.update(repeating: 0, count: o * i)
          for term in 0..<r {
            let index = Int(row[group.inputs.lowerBound + term])
            guard index >= 0 else { continue }
            for out in 0..<o { next[out * i + index] += deltas[term * o + out] }
          }
        } else {
          cblas_sgemm(
            CblasRowMajor, CblasTrans, CblasNoTrans, Int32(o), Int32(i), Int32(r), 1, deltas, Int32(o),
            row + group.inputs.lowerBound, Int32(i), 0, next, Int32(i))
        }
        next += o * i
      }
    }
  }
}
