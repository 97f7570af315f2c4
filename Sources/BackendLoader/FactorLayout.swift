/// Where a `factored_jacobian` row (ABI 1.1) keeps each parameter group, from the backend's
/// `group_factor` answers.
///
/// A row is the plain block (C × P_plain: the unfactored groups' Jacobian columns, class-major)
/// followed, per factored group in index order, by a(x) (I floats) and Δ (C × O floats). For a
/// factored group g_c(x)·g_c'(x') = (a(x)·a(x'))(Δ_c(x)·Δ_c'(x')).
public struct FactorLayout: Sendable, Equatable {
  /// Where one parameter group lives in a row.
  public enum Segment: Sendable, Equatable {
    /// Columns `offset..<offset+count` of each class's row of the plain block.
    case plain(offset: Int, count: Int)
    /// a(x) at `input`, the C × O values of Δ at `deltas` (row-relative float indices).
    case factored(input: Range<Int>, deltas: Range<Int>)
  }

  public let numOutputs: Int
  /// P_plain: parameters of the unfactored groups.
  public let plainCount: Int
  /// One segment per parameter group, in group order.
  public let segments: [Segment]
  /// Floats per sample: C·P_plain + Σ (I + C·O) over the factored groups.
  public let rowLength: Int
  /// Per group, why the backend returns it plain (ABI 1.2 `reason`); nil for factored groups and
  /// when the backend gives no reason.
  public let plainReasons: [String?]

  /// Whether any group is factored (else a row is just the Jacobian).
  public var hasFactors: Bool {
    segments.contains { if case .factored = $0 { true } else { false } }
  }

  /// - Parameters:
  ///   - factors: per group, (I, O) when factored, nil when plain.
  ///   - plainReasons: per group, why it is plain, if the backend says.
  /// - Throws: `BackendCallError.invalidDescription` when a factored group's I·O differs from its
  ///   count or a dimension is below 1.
  init(
    description d: ModelDescription, factors: [(input: Int, output: Int)?], plainReasons: [String?], backend: String
  ) throws {
    var plainCount = 0
    for (group, factor) in zip(d.parameterGroups, factors) {
      guard let factor else {
        plainCount += group.count
        continue
      }
      guard factor.input >= 1, factor.output >= 1, factor.input * factor.output == group.count else {
        throw BackendCallError.invalidDescription(
          backend: backend,
          reason:
            "group_factor for '\(group.name)' gives input_dim \(factor.input) × output_dim \(factor.output), but the group has \(group.count) parameters"
        )
      }
    }
    var segments: [Segment] = []
    var plainOffset = 0
    var next = d.numOutputs * plainCount
    for (group, factor) in zip(d.parameterGroups, factors) {
      if let factor {
        let deltas = next + factor.input
        segments.append(.factored(input: next..<deltas, deltas: deltas..<deltas + d.numOutputs * factor.output))
        next = deltas + d.numOutputs * factor.output
      } else {
        segments.append(.plain(offset: plainOffset, count: group.count))
        plainOffset += group.count
      }
    }
    numOutputs = d.numOutputs
    self.plainCount = plainCount
    self.segments = segments
    rowLength = next
    self.plainReasons = plainReasons
  }
}
