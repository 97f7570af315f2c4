/// Where a `factored_jacobian` row (ABI 1.1, sums of terms since 1.3) keeps each parameter group,
/// from the backend's `group_factor` answers.
///
/// A row is the plain block (C × P_plain: the unfactored groups' Jacobian columns, class-major)
/// followed, per factored group in index order, by its a's and its Δ's. A group of one term has
/// g_c(x)·g_c'(x') = (a(x)·a(x'))(Δ_c(x)·Δ_c'(x')); a group of R terms sums that over every pair of
/// terms (see `Summed`).
public struct FactorLayout: Sendable, Equatable {
  /// Where one parameter group lives in a row.
  public enum Segment: Sendable, Equatable {
    /// Columns `offset..<offset+count` of each class's row of the plain block.
    case plain(offset: Int, count: Int)
    /// One outer product: a(x) at `input`, the C × O values of Δ at `deltas` (row-relative float
    /// indices).
    case factored(input: Range<Int>, deltas: Range<Int>)
    /// A sum of outer products (ABI 1.3 `terms` > 1 or `one_hot`).
    case summed(Summed)
  }

  /// A group whose gradient is Σ_{r<R} Δ_{c,r} ⊗ a_r.
  public struct Summed: Sendable, Equatable {
    /// The a's: R × I floats ([r][j]), or R indices (floats, -1 for an absent term) when `oneHot`.
    public var inputs: Range<Int>
    /// Δ: C × R × O floats, [c][r][o].
    public var deltas: Range<Int>
    /// R.
    public var terms: Int
    /// I: the length of each a_r (the one-hot vectors' length when `oneHot`).
    public var inputDim: Int
    /// O: the length of each Δ_{c,r}.
    public var outputDim: Int
    public var oneHot: Bool

    public init(inputs: Range<Int>, deltas: Range<Int>, terms: Int, inputDim: Int, outputDim: Int, oneHot: Bool) {
      self.inputs = inputs
      self.deltas = deltas
      self.terms = terms
      self.inputDim = inputDim
      self.outputDim = outputDim
      self.oneHot = oneHot
    }

    /// Floats of one class's Δ block (R × O).
    public var classWidth: Int { terms * outputDim }

    /// Σ_{r,r'} (a_r·a'_r')(Δ_{c,r}·Δ'_{c',r'}) for rows `x` and `y` (row-relative reads): the
    /// group's g_c(x)·g_c'(y), computed plainly (a reference; the kernel stage has a faster one).
    public func product(_ x: (Int) -> Double, classX: Int, _ y: (Int) -> Double, classY: Int) -> Double {
      let (r, i, o) = (terms, inputDim, outputDim)
      var total = 0.0
      for s in 0..<r {
        for t in 0..<r {
          let a: Double
          if oneHot {
            let (p, q) = (x(inputs.lowerBound + s), y(inputs.lowerBound + t))
            a = p >= 0 && p == q ? 1 : 0
          } else {
            a = (0..<i).reduce(0.0) { $0 + x(inputs.lowerBound + s * i + $1) * y(inputs.lowerBound + t * i + $1) }
          }
          guard a != 0 else { continue }
          let dx = deltas.lowerBound + classX * classWidth + s * o
          let dy = deltas.lowerBound + classY * classWidth + t * o
          total += a * (0..<o).reduce(0.0) { $0 + x(dx + $1) * y(dy + $1) }
        }
      }
      return total
    }
  }

  /// What `group_factor` said of one group.
  public struct GroupFactor: Sendable, Equatable {
    public var inputDim: Int
    public var outputDim: Int
    /// R, 1 for one outer product.
    public var terms: Int
    public var oneHot: Bool

    public init(inputDim: Int, outputDim: Int, terms: Int = 1, oneHot: Bool = false) {
      self.inputDim = inputDim
      self.outputDim = outputDim
      self.terms = terms
      self.oneHot = oneHot
    }
  }

  public let numOutputs: Int
  /// P_plain: parameters of the unfactored groups.
  public let plainCount: Int
  /// One segment per parameter group, in group order.
  public let segments: [Segment]
  /// Floats per sample: C·P_plain + Σ over the factored groups of (a's + C·R·O).
  public let rowLength: Int
  /// Per group, why the backend returns it plain (ABI 1.2 `reason`); nil for factored groups and
  /// when the backend gives no reason.
  public let plainReasons: [String?]

  /// The layout of a row whose C classes are summed into one (`pntk`'s Σ_c g_c/√C from factored
  /// rows): the same groups with one class, the a's unchanged.
  public func collapsingClasses() -> FactorLayout {
    var next = plainCount
    let collapsed = segments.map { segment -> Segment in
      switch segment {
      case .plain: return segment
      case .factored(let input, let deltas):
        let width = deltas.count / numOutputs
        defer { next += input.count + width }
        return .factored(input: next..<next + input.count, deltas: next + input.count..<next + input.count + width)
      case .summed(var group):
        let (inputs, width) = (group.inputs.count, group.classWidth)
        (group.inputs, group.deltas) = (next..<next + inputs, next + inputs..<next + inputs + width)
        next += inputs + width
        return .summed(group)
      }
    }
    return FactorLayout(
      numOutputs: 1, plainCount: plainCount, segments: collapsed, rowLength: next, plainReasons: plainReasons)
  }

  private init(numOutputs: Int, plainCount: Int, segments: [Segment], rowLength: Int, plainReasons: [String?]) {
    self.numOutputs = numOutputs
    self.plainCount = plainCount
    self.segments = segments
    self.rowLength = rowLength
    self.plainReasons = plainReasons
  }

  /// The layout of rows with the summed groups `expand` picks (by group index) made whole.
  ///
  /// Each such group is replaced by its whole gradient, written as a one-term factor with a = [1] and Δ = the C × (O·I) gradient
  /// entries (any fixed order of a group's entries gives the same kernels). Segments keep their
  /// order; everything after an expanded group moves.
  public func expandingSums(_ expand: (Int, Summed) -> Bool) -> FactorLayout {
    var next = numOutputs * plainCount
    let expanded = segments.enumerated().map { index, segment -> Segment in
      switch segment {
      case .plain: return segment
      case .factored(let input, let deltas):
        defer { next += input.count + deltas.count }
        return .factored(
          input: next..<next + input.count, deltas: next + input.count..<next + input.count + deltas.count)
      case .summed(var group):
        if !group.oneHot && expand(index, group) {
          let width = numOutputs * group.outputDim * group.inputDim
          defer { next += 1 + width }
          return .factored(input: next..<next + 1, deltas: next + 1..<next + 1 + width)
        }
        let (inputs, deltas) = (group.inputs.count, group.deltas.count)
        (group.inputs, group.deltas) = (next..<next + inputs, next + inputs..<next + inputs + deltas)
        next += inputs + deltas
        return .summed(group)
      }
    }
    return FactorLayout(
      numOutputs: numOutputs, plainCount: plainCount, segments: expanded, rowLength: next, plainReasons: plainReasons)
  }

  /// Whether any group is factored (else a row is just the Jacobian).
  public var hasFactors: Bool {
    segments.contains { if case .plain = $0 { false } else { true } }
  }

  /// - Parameters:
  ///   - factors: per group, its factor when factored, nil when plain.
  ///   - plainReasons: per group, why it is plain, if the backend says.
  /// - Throws: `BackendCallError.invalidDescription` when a factored group's I·O differs from its
  ///   count, a dimension or R is below 1, R is absurd, or a one-hot I passes 2^24 (its indices
  ///   are floats).
  init(description d: ModelDescription, factors: [GroupFactor?], plainReasons: [String?], backend: String) throws {
    var plainCount = 0
    for (group, factor) in zip(d.parameterGroups, factors) {
      guard let factor else {
        plainCount += group.count
        continue
      }
      let problem: String? =
        if factor.inputDim < 1 || factor.outputDim < 1 || factor.inputDim * factor.outputDim != group.count {
          "gives input_dim \(factor.inputDim) × output_dim \(factor.outputDim), but the group has \(group.count) parameters"
        } else if factor.terms < 1 || factor.terms > 1 << 24 {
          "gives terms \(factor.terms), not 1...2^24"
        } else if factor.oneHot && factor.inputDim > 1 << 24 {
          "is one-hot with input_dim \(factor.inputDim) past 2^24, which float indices cannot hold exactly"
        } else {
          nil
        }
      if let problem {
        throw BackendCallError.invalidDescription(
          backend: backend, reason: "group_factor for '\(group.name)' \(problem)")
      }
    }
    var segments: [Segment] = []
    var plainOffset = 0
    var next = d.numOutputs * plainCount
    for (group, factor) in zip(d.parameterGroups, factors) {
      guard let factor else {
        segments.append(.plain(offset: plainOffset, count: group.count))
        plainOffset += group.count
        continue
      }
      let inputs = next..<next + factor.terms * (factor.oneHot ? 1 : factor.inputDim)
      let deltas = inputs.upperBound..<inputs.upperBound + d.numOutputs * factor.terms * factor.outputDim
      if factor.terms == 1 && !factor.oneHot {
        segments.append(.factored(input: inputs, deltas: deltas))
      } else {
        segments.append(
          .summed(
            Summed(
              inputs: inputs, deltas: deltas, terms: factor.terms, inputDim: factor.inputDim,
              outputDim: factor.outputDim, oneHot: factor.oneHot)))
      }
      next = deltas.upperBound
    }
    numOutputs = d.numOutputs
    self.plainCount = plainCount
    self.segments = segments
    rowLength = next
    self.plainReasons = plainReasons
  }
}
