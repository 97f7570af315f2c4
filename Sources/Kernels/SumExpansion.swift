import BackendLoader
import COpenBLAS

/// Which of a backend's dense summed groups (a convolution's Σ_r Δ_r ⊗ patch_r) the kernel stage
/// multiplies as whole gradient columns, and where those columns are made.
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
/// Whole columns are written into the features (`rewrite`), except where the features can keep
/// the sum at half the columns' size or less and `GramTile` makes the columns for each panel
/// of samples, a chunk at a time into a reused buffer, when it multiplies them
/// (`expandedInGram`): the same flops when a sample meets one panel (at most
/// `GramTile.panelSide` columns), and the whole columns never fill memory. Not for `entk`, whose
/// rows become class rows before the Gram.
///
/// On a CIFAR ResNet-18 (C = 10) with every convolution a sum, `trntk` writes the 32×32 stage's
/// columns and the strided and shortcut convolutions', makes the other 16×16 ones and the first
/// 8×8 one in the Gram and keeps the other sums. A BERT's dense layers summed over 64 tokens are
/// made whole in the Gram for 64 samples.
struct SumExpansion {
  /// The backend's row layout.
  let source: FactorLayout
  /// The feature rows' layout: groups written whole become one-term factors with a = [1].
  let target: FactorLayout
  /// Summed groups of `target` that `GramTile` makes whole.
  let expandedInGram: Set<Int>

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
  ///   other sample's class rows: the rule weighs one class per row (c = 1) meeting n·C rows, and
  ///   never makes columns in the Gram.
  init?(_ source: FactorLayout, pairedSamples: Int, classRows: Bool = false) {
    let samples = Double(min(max(pairedSamples, 1), Self.referenceSamples))
    let (c, n) = classRows ? (1.0, samples * Double(source.numOutputs)) : (Double(source.numOutputs), samples)
    let onePanel = !classRows && pairedSamples <= GramTile.panelSide
    var inGram = Set<Int>()
    let target = source.expandingSums { index, group in
      let (r, i, o) = (Double(group.terms), Double(group.inputDim), Double(group.outputDim))
      let memory = Self.memoryCost
      guard c * o * i * (2 * r + n + memory) < n * r * r * (i + c * o) + memory * r * (i + c * o) else { return false }
      if onePanel && 2 * r * (i + c * o) <= c * o * i && group.lineLength <= GramTile.accumulationChunk {
        inGram.insert(index)
        return false
      }
      return true
    }
    guard target != source || !inGram.isEmpty else { return nil }
    self.source = source
    self.target = target
    expandedInGram = inGram
  }

  /// Whether rows are rewritten into features (some group's columns are written whole).
  var rewrites: Bool { target != source }

  /// The expansion for `kind` when it rewrites the backend's rows into features (`rewrites`), the
  /// producer's part of it; nil when every sum reaches the Gram as it is.
  static func rewriting(kind: KernelKind, factors: FactorLayout?, pairedSamples: Int) -> SumExpansion? {
    guard let factors, let expansion = of(kind: kind, factors: factors, pairedSamples: pairedSamples),
      expansion.rewrites
    else { return nil }
    return expansion
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
  /// groups are copied, each expanded group's class c gradient made whole (`expand`).
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
        let block = group.outputDim * group.inputDim
        for c in 0..<source.numOutputs {
          group.expand(row, classIndex: c, lines: 0..<group.lineCount, into: out + deltas.lowerBound + c * block)
        }
      default: break
      }
    }
  }
}

extension FactorLayout.Summed {
  /// Floats per line of a class's whole gradient as `expand` makes it.
  ///
  /// I, one line per output (Δ_cᵀ A), or O, one line per input (Aᵀ Δ_c), whichever is shorter:
  /// sgemm packs its whole unchunked operand, A (R × I) or Δ_c (R × O), at every call.
  var lineLength: Int { min(inputDim, outputDim) }
  /// Lines of a class's whole gradient.
  var lineCount: Int { max(inputDim, outputDim) }

  /// Writes lines `lines` of class `classIndex`'s whole gradient of this group in `row` into `out`
  /// (`lines.count` × `lineLength` floats): one sgemm over the R terms.
  func expand(_ row: UnsafePointer<Float>, classIndex: Int, lines: Range<Int>, into out: UnsafeMutablePointer<Float>) {
    let (a, delta) = (row + inputs.lowerBound, row + deltas.lowerBound + classIndex * classWidth)
    // Δ_cᵀ A (a line per output) or Aᵀ Δ_c (a line per input): the lines' operand is cut.
    let (cut, whole, stride) = inputDim <= outputDim ? (delta, a, outputDim) : (a, delta, inputDim)
    let length = Int32(lineLength)
    cblas_sgemm(
      CblasRowMajor, CblasTrans, CblasNoTrans, Int32(lines.count), length, Int32(terms), 1, cut + lines.lowerBound,
      Int32(stride), whole, length, 0, out, length)
  }
}
