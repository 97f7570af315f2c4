import BackendLoader
import COpenBLAS

/// Which of a backend's dense summed groups (a convolution's Σ_r Δ_r ⊗ patch_r) the kernel stage
/// turns back into whole gradient columns, and the rewrite of each row that does it.
///
/// The backend reports a sum wherever it can; whether the sum or the whole columns cost a kernel
/// less depends on what only the kernel stage knows: the classes per row (C for `trntk` and
/// `layers`, 1 for `pntk`'s summed rows and for `entk`'s class rows, which meet C times as many)
/// and how many samples each sample meets in the Gram
/// (`pairedSamples`: the kernel's columns, at most `referenceSamples`). Per sample of a tile of
/// n = `pairedSamples`:
///
/// - whole columns: c·O·I entries, rebuilt at R multiply-adds each (2R flops), multiplied in the
///   Gram once per pair (N/2 pairs, 2 flops) and written, zeroed and read again (`memoryCost`
///   flop-equivalents a float: first touches of fresh memory dominate on VMs);
/// - the sum: R·(I + c·O) floats, R²·(I + c·O) multiply-adds per pair.
///
/// On a CIFAR ResNet-18 (C = 10) `trntk` keeps the 4×4 and 8×8 stages' sums and expands the 16×16
/// and 32×32 ones; `pntk` (c = 1) keeps only the 4×4 stage's. A BERT's dense layers summed over
/// 64 tokens are expanded for 64 samples and kept for 16 (BERT-base pntk, N = 16: 2.1 GB of
/// features instead of 7.1 GB, 7.1 s instead of 10.4 s on the VM).
struct SumExpansion {
  /// The backend's row layout.
  let source: FactorLayout
  /// The feature rows' layout: expanded groups become one-term factors with a = [1].
  let target: FactorLayout

  /// Most samples the rule assumes each sample meets (`KernelSettings.defaultBatchSize`, the
  /// usual tile side).
  static let referenceSamples = KernelSettings.defaultBatchSize
  /// Flop-equivalents of writing, zeroing and reading one float of features on the 2-core VM
  /// (first touch ~2.5 s/GiB against ~100 GFLOP/s of sgemm).
  static let memoryCost = 64.0

  /// The expansion of `source` (rows of `source.numOutputs` classes) that the rule above picks,
  /// or nil when it keeps every sum.
  ///
  /// - Parameter classRows: for `entk`, whose Gram multiplies each class's row with every
  ///   other sample's class rows: the rule weighs one class per row (c = 1) meeting n·C rows.
  init?(_ source: FactorLayout, pairedSamples: Int, classRows: Bool = false) {
    let samples = Double(min(max(pairedSamples, 1), Self.referenceSamples))
    let (c, n) = classRows ? (1.0, samples * Double(source.numOutputs)) : (Double(source.numOutputs), samples)
    let target = source.expandingSums { _, group in
      let (r, i, o) = (Double(group.terms), Double(group.inputDim), Double(group.outputDim))
      let memory = Self.memoryCost
      return c * o * i * (2 * r + n + memory) < n * r * r * (i + c * o) + memory * r * (i + c * o)
    }
    guard target != source else { return nil }
    self.source = source
    self.target = target
  }

  /// The expansion for `kind`'s feature rows from the backend's `factors`: `trntk` and `layers`
  /// read its rows, `pntk` its rows of summed classes, `entk` its rows before they become class
  /// rows (`ClassRowLayout` of the target).
  static func of(kind: KernelKind, factors: FactorLayout, pairedSamples: Int) -> SumExpansion? {
    switch kind {
    case .trntk, .layers: return SumExpansion(factors, pairedSamples: pairedSamples)
    case .pntk: return SumExpansion(factors.collapsingClasses(), pairedSamples: pairedSamples)
    case .entk: return SumExpansion(factors, pairedSamples: pairedSamples, classRows: true)
    default: return nil
    }
  }

  /// Rewrites one `source` row into a `target` row (no overlap): the plain block and unexpanded
  /// groups are copied, each expanded group's class c gradient is Δ_cᵀ A (O × I, sgemm over R).
  func rewrite(_ row: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>) {
    let plain = source.numOutputs * source.plainCount
    out.update(from: row, count: plain)
    for (old, new) in zip(source.segments, target.segments) {
      switch (old, new) {
      case (.factored(let input, let deltas), .factored(let newInput, _)):
        (out + newInput.lowerBound).update(from: row + input.lowerBound, count: input.count + deltas.count)
      case (.summed(let group), .summed(let moved)):
        (out + moved.inputs.lowerBound).update(
          from: row + group.inputs.lowerBound, count: group.inputs.count + group.deltas.count)
      case (.summed(let group), .factored(let input, let deltas)):
        out[input.lowerBound] = 1
        let (r, i, o) = (group.terms, group.inputDim, group.outputDim)
        for c in 0..<source.numOutputs {
          cblas_sgemm(
            CblasRowMajor, CblasTrans, CblasNoTrans, Int32(o), Int32(i), Int32(r), 1,
            row + group.deltas.lowerBound + c * group.classWidth, Int32(o), row + group.inputs.lowerBound, Int32(i), 0,
            out + deltas.lowerBound + c * o * i, Int32(i))
        }
      default: break
      }
    }
  }
}
