import BackendLoader
import COpenBLAS
import Dispatch

/// Computes one tile of a kernel from two blocks of features with OpenBLAS, in the stored layout.
///
/// Every value is bit-identical whatever the tile size, batch size or thread count. OpenBLAS's
/// float32 sgemm does not round an entry the same way in every call: which micro-kernel path an
/// entry takes depends on the call's m and n and on the entry's position in it (measured on
/// OpenBLAS 0.3.21: sub-blocks of a product differ from the whole in most entries, and ssyrk
/// differs from sgemm). So every product here is one fixed call shape: `panelSide` × `panelSide`
/// feature rows (fewer only in the last panel of the whole set, which is the same for every
/// tiling), aligned to multiples of `panelSide` in the whole row and column sample sets (not the
/// tile), by at most `accumulationChunk` features, on one OpenBLAS thread (entk's own threads split
/// the panels). An entry's float32 partial products then depend only on its two feature rows and
/// their positions in the whole kernel. A panel that reaches outside the tile is copied with only
/// the tile's rows in place, which never changes those rows' bits.
///
/// A panel of a symmetric kernel paired with itself is one ssyrk call of the same shape, whose
/// upper triangle holds every pair of its samples (a row tile's samples come before its column
/// tile's); an off-diagonal tile whose rows and columns share a panel copies both into it. ssyrk
/// packs the panel once where sgemm packs it twice: about two thirds of sgemm's time for 64 or 192
/// rows here.
///
/// Accumulation: float32 sgemm over at most `accumulationChunk` features at a time, the partial
/// results summed in float64 in feature order. So float32 rounding grows with at most 8192 terms,
/// not with C·P (which reaches millions), and the relative error stays around 1e-7, well inside the
/// 1e-5 tolerance the tests check against a float64 reference.
public struct GramTile {
  /// Longest inner dimension handed to one float32 sgemm call.
  public static let accumulationChunk = 8192
  /// Rows and columns of every sgemm call, in feature rows.
  ///
  /// Feature rows are samples, or sample-class rows for `entk`. On the 2-core EPYC VM the digits
  /// CNN's trntk Gram (N = 1797, 2 threads) ran at 72% (128), 76% (192) and 63% (256) of one
  /// 2-thread sgemm of the whole kernel: smaller panels lose more to OpenBLAS's packing, larger
  /// ones more to half-used diagonal panels and uneven work between threads.
  public static let panelSide = 192

  public let kind: KernelKind
  public let description: ModelDescription
  /// Floats per sample in a feature row (`FeatureProducer.featureLength`).
  public let featureLength: Int
  /// Set when features come from `factored_jacobian`: its rows for `trntk` and `layers`, their
  /// class rows (`ClassRowLayout`) for `entk`, rows of summed classes (`collapsingClasses`) for
  /// `pntk`.
  public let factors: FactorLayout?
  /// Summed groups of `factors` multiplied as whole gradient columns, made chunk by chunk for each
  /// panel (`SumExpansion`); the others are multiplied as sums.
  public let expandedGroups: Set<Int>

  /// Threads sharing a tile's panels; OpenBLAS itself must run on one thread
  /// (`openblas_set_num_threads(1)`), or its thread split changes the rounding.
  public let threads: Int

  public init(
    kind: KernelKind, description: ModelDescription, featureLength: Int, factors: FactorLayout? = nil,
    expandedGroups: Set<Int> = [], threads: Int = 1
  ) {
    precondition(factors == nil || kind.factorable)
    precondition(expandedGroups.isEmpty || (factors != nil && kind != .entk))
    self.expandedGroups = expandedGroups
    self.threads = max(1, threads)
    self.kind = kind
    self.description = description
    self.featureLength = featureLength
    self.factors = factors
  }

  /// Feature columns one sgemm multiplies: columns of the stored rows, or columns of a dense
  /// sum's whole gradient, made for each row of a panel when the panel is multiplied.
  enum Chunk {
    case stored(Range<Int>)
    /// Lines `lines` of class `classIndex`'s whole gradient of `group` (`FactorLayout.Summed.expand`).
    case expanded(FactorLayout.Summed, classIndex: Int, lines: Range<Int>)

    var width: Int {
      switch self {
      case .stored(let range): range.count
      case .expanded(let group, _, let lines): lines.count * group.lineLength
      }
    }
  }

  /// One Gram of the tile, summed into its kernel `target` (one per group for `layers`).
  ///
  /// The products of feature `chunks` summed, multiplied elementwise by the Gram of `scale` when
  /// set — a factored group, Gram(Δ) ⊙ Gram(a); or, for a group of several terms, `summed`'s
  /// values.
  struct Term {
    var chunks: [Chunk]
    var scale: [Range<Int>]?
    var summed: SummedFactor?
    var target: Int

    init(ranges: [Range<Int>], scale: Range<Int>? = nil, target: Int) {
      chunks = ranges.flatMap(Self.chunks).map(Chunk.stored)
      self.scale = scale.map(Self.chunks)
      self.target = target
    }

    init(summed: SummedFactor, target: Int) {
      chunks = []
      self.summed = summed
      self.target = target
    }

    /// The Gram of `group`'s whole gradient for `classes` classes, in chunks of whole lines (at
    /// most `accumulationChunk` floats, so a line must not be longer).
    init(expanding group: FactorLayout.Summed, classes: Int, target: Int) {
      precondition(group.lineLength <= GramTile.accumulationChunk && !group.oneHot)
      let step = GramTile.accumulationChunk / group.lineLength
      chunks = (0..<classes).flatMap { c in
        stride(from: 0, to: group.lineCount, by: step).map {
          Chunk.expanded(group, classIndex: c, lines: $0..<min($0 + step, group.lineCount))
        }
      }
      self.target = target
    }

    private static func chunks(_ range: Range<Int>) -> [Range<Int>] {
      stride(from: range.lowerBound, to: range.upperBound, by: GramTile.accumulationChunk).map {
        $0..<min($0 + GramTile.accumulationChunk, range.upperBound)
      }
    }

    /// Features the term multiplies per pair of rows.
    var width: Int {
      chunks.reduce(summed?.width ?? 0) { $0 + $1.width } + (scale ?? []).reduce(0) { $0 + $1.count }
    }
  }

  /// Rows of the feature view per sample: C for `entk` (each class a row of P), else 1.
  private var viewRowsPerSample: Int { kind == .entk ? description.numOutputs : 1 }
  private var leadingDimension: Int { kind == .entk ? featureLength / description.numOutputs : featureLength }
  private var kernelCount: Int { kind == .layers ? description.parameterGroups.count : 1 }

  private var terms: [Term] {
    // Classes per row: C, or 1 for `pntk`'s rows of summed classes.
    let (c, p) = (factors?.numOutputs ?? description.numOutputs, description.numParams)
    if let factors, kind == .entk {
      let classRows = ClassRowLayout(factors)
      let plain = factors.plainCount > 0 ? [Term(ranges: [0..<factors.plainCount], target: 0)] : []
      return plain
        + classRows.groups.map { group in
          group.summed.map { Term(summed: SummedFactor($0, blocks: [group.deltas.lowerBound]), target: 0) }
            ?? Term(ranges: [group.deltas], scale: group.inputs, target: 0)
        }
    }
    if let factors {
      var terms: [Term] = []
      if kind != .layers && factors.plainCount > 0 {
        terms.append(Term(ranges: [0..<c * factors.plainCount], target: 0))
      }
      for (index, segment) in factors.segments.enumerated() {
        let target = kind == .layers ? index : 0
        switch segment {
        case .plain(let offset, let count) where kind == .layers:
          let stride = factors.plainCount
          terms.append(
            Term(ranges: (0..<c).map { $0 * stride + offset..<$0 * stride + offset + count }, target: target))
        case .plain: break
        case .factored(let input, let deltas): terms.append(Term(ranges: [deltas], scale: input, target: target))
        case .summed(let group) where expandedGroups.contains(index):
          terms.append(Term(expanding: group, classes: c, target: target))
        case .summed(let group):
          let blocks = (0..<c).map { group.deltas.lowerBound + $0 * group.classWidth }
          terms.append(Term(summed: SummedFactor(group, blocks: blocks), target: target))
        }
      }
      return terms
    }
    switch kind {
    case .layers:
      return description.parameterGroups.enumerated().map { index, group in
        Term(ranges: (0..<c).map { $0 * p + group.offset..<$0 * p + group.offset + group.count }, target: index)
      }
    default:
      return [Term(ranges: [0..<leadingDimension], target: 0)]
    }
  }

  /// Float32 values in a tile of `rows` × `columns` samples.
  public func tileCount(rows: Int, columns: Int) -> Int {
    rows * columns
      * kind.valuesPerPair(numOutputs: description.numOutputs, numGroups: description.parameterGroups.count)
  }

  /// Self-kernels of each feature row in float64, per kernel: [target][row·m + class] (m = C
  /// for `entk`, 1 otherwise); what cosine normalisation divides by.
  public func selfValues(_ features: UnsafePointer<Float>, samples: Int) -> [[Double]] {
    let m = viewRowsPerSample
    var values = [[Double]](repeating: [Double](repeating: 0, count: samples * m), count: kernelCount)
    let scratch = SummedScratch()
    let expansion = FloatBuffer(count: Self.accumulationChunk)
    for term in terms {
      for row in 0..<samples * m {
        let line = features + row * leadingDimension
        if let summed = term.summed {
          values[term.target][row] += summed.value(line, line, scratch: scratch)
          continue
        }
        let squares = { (floats: UnsafePointer<Float>, range: Range<Int>) in
          range.reduce(0.0) { $0 + Double(floats[$1]) * Double(floats[$1]) }
        }
        let chunkSquares = term.chunks.reduce(0.0) { sum, chunk in
          switch chunk {
          case .stored(let range): return sum + squares(line, range)
          case .expanded(let group, let c, let lines):
            group.expand(line, classIndex: c, lines: lines, into: expansion.pointer)
            return sum + squares(expansion.pointer, 0..<chunk.width)
          }
        }
        let scale = term.scale.map { $0.reduce(0.0) { $0 + squares(line, $1) } }
        values[term.target][row] += chunkSquares * (scale ?? 1)
      }
    }
    return values
  }

  /// Computes the tile K(rows, columns) into `output` (float32, stored layout:
  /// [r, s], [r, s, C, C] or [L, r, s]).
  ///
  /// - Parameters:
  ///   - rowFeatures: r × featureLength float32 features of the tile's row samples.
  ///   - rowStart: index of the first row sample in the whole row set (fixes the panel grid).
  ///   - rowTotal, columnTotal: samples in the whole row and column sets (fix the last panels).
  ///   - columnFeatures: s × featureLength features of its column samples, or nil for a diagonal
  ///     tile of a symmetric kernel (columns = rows; only panels on and above the diagonal are
  ///     computed, and the upper triangle is mirrored).
  ///   - columnStart: index of the first column sample in the whole column set (`rowStart` when
  ///     `columnFeatures` is nil).
  ///   - symmetricKernel: a tile of a symmetric kernel; off the diagonal its columns are samples
  ///     of the rows' set after the rows, and a panel both reach is computed by ssyrk, as in the
  ///     diagonal tiles.
  ///   - cosine: when given, (row, column) self-values from `selfValues`; each value is divided by
  ///     √(K(x,x)·K(x',x')), and by nothing (giving 0) where a self-value is 0.
  /// - Returns: floating-point operations the tile needs (an upper triangle for a diagonal tile),
  ///   not counting the work the fixed panels spend on rows outside the tile.
  @discardableResult
  public func compute(
    rowFeatures: UnsafePointer<Float>, rows r: Int, rowStart: Int, rowTotal: Int,
    columnFeatures: UnsafePointer<Float>?, columns s: Int, columnStart: Int, columnTotal: Int,
    symmetricKernel: Bool = false, cosine: (rows: [[Double]], columns: [[Double]])?,
    output: UnsafeMutablePointer<Float>
  ) -> Double {
    let m = viewRowsPerSample
    let symmetric = columnFeatures == nil
    precondition(!symmetric || (r == s && rowStart == columnStart && rowTotal == columnTotal))
    precondition(!symmetricKernel || symmetric || (rowTotal == columnTotal && rowStart + r <= columnStart))
    let rowBlock = ViewBlock(features: rowFeatures, start: rowStart * m, count: r * m, total: rowTotal * m)
    let columnBlock = ViewBlock(
      features: columnFeatures ?? rowFeatures, start: columnStart * m, count: s * m, total: columnTotal * m)
    let terms = self.terms
    let side = Self.panelSide
    let pairs = rowBlock.panels.flatMap { row in
      columnBlock.panels.filter { !symmetric || $0 >= row }.map { (row: row, column: $0) }
    }
    let parts = min(threads, pairs.count)
    let shares = Self.deal(pairs, parts: parts) {
      rowBlock.panel($0.row).height * columnBlock.panel($0.column).height
    }
    // Output offset of view element (row i·m + a, column j·m + b) within one kernel's tile:
    // [i, j, a, b] for entk, [i, j] otherwise.
    let rowOffsets = (0..<r * m).map { $0 / m * s * m * m + $0 % m * m }
    let columnOffsets = (0..<s * m).map { $0 / m * m * m + $0 % m }
    let (ld, threadCount) = (leadingDimension, threads)
    for target in 0..<kernelCount {
      let mine = terms.filter { $0.target == target }
      let (rowSelves, columnSelves) = (cosine?.rows[target], cosine?.columns[target])
      let destination = UnsafeSendable(output + target * r * s)
      DispatchQueue.concurrentPerform(iterations: parts) { part in
        // Workers per panel pair: the threads a pair count below `threads` leaves idle (a kernel
        // of at most 192 samples is one pair) compute a pair's chunks side by side.
        let workspace = PanelWorkspace(workers: max(1, threadCount / parts))
        for pair in shares[part] {
          let panels = PanelPair(
            rows: rowBlock, columns: columnBlock, rowPanel: rowBlock.panel(pair.row),
            columnPanel: columnBlock.panel(pair.column), symmetric: symmetric,
            sameSet: symmetric || symmetricKernel, leadingDimension: ld,
            workspace: workspace)
          workspace.sum.update(repeating: 0, count: side * side)
          for term in mine { panels.add(term) }
          panels.scatter(
            into: destination.value, rowOffsets: rowOffsets, columnOffsets: columnOffsets,
            selves: rowSelves.flatMap { rows in columnSelves.map { (rows, $0) } })
        }
      }
    }
    let (rv, sv) = (Double(r * m), Double(s * m))
    let width = Double(terms.reduce(0) { $0 + $1.width })
    return symmetric ? rv * (rv + 1) * width : 2 * rv * sv * width
  }

  /// Panel pairs shared between `parts` threads.
  ///
  /// Each thread takes whole pairs, so which thread computes a pair never changes its bits; pairs are dealt largest `cost` first to the
  /// least-loaded thread (the sets' last panels are smaller).
  private static func deal(
    _ pairs: [(row: Int, column: Int)], parts: Int, cost: ((row: Int, column: Int)) -> Int
  ) -> [[(row: Int, column: Int)]] {
    var shares = [[(row: Int, column: Int)]](repeating: [], count: parts)
    var loads = [Int](repeating: 0, count: parts)
    for pair in pairs.sorted(by: { cost($0) > cost($1) }) {
      let part = loads.indices.min { loads[$0] < loads[$1] } ?? 0
      shares[part].append(pair)
      loads[part] += cost(pair)
    }
    return shares
  }
}

/// The feature rows of one side of a tile (its rows or its columns): rows `start..<start+count` of
/// the whole set of `total` rows, cut along the whole set's panel grid.
struct ViewBlock: @unchecked Sendable {
  /// Where one panel of the whole set's grid meets this block.
  struct Panel {
    /// Row of the whole set at the panel's position 0.
    var origin: Int
    /// Rows of the whole set in the panel: `panelSide`, fewer in the whole set's last panel.
    var height: Int
    /// Positions in the panel of the block's rows.
    var positions: Range<Int>
  }

  let features: UnsafePointer<Float>
  let start: Int
  let count: Int
  let total: Int

  /// Indices of the panels of the whole set's grid that hold rows of this block.
  var panels: [Int] { Array(start / GramTile.panelSide...(start + count - 1) / GramTile.panelSide) }

  func panel(_ index: Int) -> Panel {
    let origin = index * GramTile.panelSide
    let end = min(origin + GramTile.panelSide, start + count)
    return Panel(
      origin: origin, height: min(GramTile.panelSide, total - origin),
      positions: max(origin, start) - origin..<end - origin)
  }

  /// The feature row at `position` of `panel` (a position of the block's rows).
  func row(_ panel: Panel, _ position: Int, leadingDimension: Int) -> UnsafePointer<Float> {
    features + (panel.origin + position - start) * leadingDimension
  }

  /// The panel's rows of `chunk` as sgemm's operand: stored columns in place when the block holds
  /// the whole panel, else copied (or, expanded, made) into `copy` at their positions, with those
  /// of `other` (another block's rows in the same panel of the same set) when given, the panel's
  /// other rows zero (their products are dropped, and no row's bits depend on another row).
  func operand(
    _ panel: Panel, _ chunk: GramTile.Chunk, leadingDimension: Int, copy: UnsafeMutablePointer<Float>,
    with other: (block: ViewBlock, panel: Panel)? = nil
  ) -> (pointer: UnsafePointer<Float>, leadingDimension: Int) {
    let (stride, width) = (GramTile.accumulationChunk, chunk.width)
    if case .stored(let range) = chunk, panel.positions.count == panel.height {
      return (features + (panel.origin - start) * leadingDimension + range.lowerBound, leadingDimension)
    }
    for position in 0..<panel.height {
      let out = copy + position * stride
      let (block, holder) = panel.positions.contains(position) ? (self, panel) : other ?? (self, panel)
      guard holder.positions.contains(position) else {
        out.update(repeating: 0, count: width)
        continue
      }
      let line = block.row(holder, position, leadingDimension: leadingDimension)
      switch chunk {
      case .stored(let range): out.update(from: line + range.lowerBound, count: width)
      case .expanded(let group, let c, let lines): group.expand(line, classIndex: c, lines: lines, into: out)
      }
    }
    return (UnsafePointer(copy), stride)
  }
}
