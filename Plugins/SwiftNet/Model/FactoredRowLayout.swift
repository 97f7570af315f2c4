/// Where each parameter group lands in a `factored_jacobian` row (ABI 1.1; sums of terms since 1.3).
///
/// A row is the plain block, C × P_plain (the unfactored groups' Jacobian, their parameters in flat
/// order), then for each factored group in order its a's (R × I floats, [r][j]) and Δ (C × R × O
/// floats, [c][r][o]). With C = 1 it is a `factored_vjp_inputs` row.
struct FactoredRowLayout {
  /// C: the cotangent rows per sample, one per logit (1 for vjp rows).
  let classes: Int
  /// P_plain: the parameters of the unfactored groups.
  let plainCount: Int
  /// S: the floats of one row.
  let rowSize: Int
  /// Start of each factored group's a within a row, by the group's parameter offset.
  let factorStarts: [Int: Int]
  /// The factored groups' parameter ranges, in order: plain columns skip over them.
  private let factoredRanges: [(offset: Int, count: Int)]

  init(groups: [ParameterGroup], classes: Int) {
    self.classes = classes
    let factored = groups.filter { $0.factor != nil }
    plainCount = groups.reduce(0) { $0 + ($1.factor == nil ? $1.count : 0) }
    var start = classes * plainCount
    var starts: [Int: Int] = [:]
    for group in factored {
      guard let factor = group.factor else { continue }
      starts[group.offset] = start
      start += factor.terms * (factor.inputDim + classes * factor.outputDim)
    }
    rowSize = start
    factorStarts = starts
    factoredRanges = factored.map { ($0.offset, $0.count) }
  }

  /// The column in the plain block of the unfactored parameter at flat index `offset`.
  func plainColumn(_ offset: Int) -> Int {
    offset - factoredRanges.reduce(0) { $0 + ($1.offset < offset ? $1.count : 0) }
  }
}
