import BackendLoader

/// The features of `entk` from factored rows: each sample as C class rows of `width` floats,
/// [plain columns of class c | Δ_c of each factored group | a of each factored group].
///
/// Products of class rows then give every C×C block, J_c(x)·J_d(x') = plain·plain' +
/// Σ_g (a_g·a_g')(Δ_gc·Δ_gd'), with the same `GramTile` terms as `trntk`. The a's repeat in every
/// class row, which costs C² redundant products of I floats per sample pair, small beside the
/// P-length columns a factored group no longer needs.
struct ClassRowLayout {
  /// Where one factored group lives in a class row, and where its a and Δ_c come from in a
  /// `factored_jacobian` row.
  struct Group {
    var deltas: Range<Int>
    var inputs: Range<Int>
    var sourceInputs: Range<Int>
    var sourceDeltas: Range<Int>
    /// Set for a group of several terms, whose Δ block here is R × O (the class's).
    var summed: FactorLayout.Summed?
  }

  let factors: FactorLayout
  /// Floats per class row.
  let width: Int
  let groups: [Group]

  init(_ factors: FactorLayout) {
    self.factors = factors
    let factored = factors.segments.compactMap { segment -> (Range<Int>, Range<Int>, FactorLayout.Summed?)? in
      switch segment {
      case .plain: nil
      case .factored(let input, let deltas): (input, deltas, nil)
      case .summed(let group): (group.inputs, group.deltas, group)
      }
    }
    let c = factors.numOutputs
    var deltaStart = factors.plainCount
    var inputStart = deltaStart + factored.reduce(0) { $0 + $1.1.count / c }
    groups = factored.map { input, deltas, summed in
      let width = deltas.count / c
      defer { (deltaStart, inputStart) = (deltaStart + width, inputStart + input.count) }
      var group = Group(
        deltas: deltaStart..<deltaStart + width, inputs: inputStart..<inputStart + input.count, sourceInputs: input,
        sourceDeltas: deltas)
      // Reads of this class row: the a's and the one Δ block moved here.
      group.summed = summed.map {
        var moved = $0
        (moved.inputs, moved.deltas) = (group.inputs, group.deltas)
        return moved
      }
      return group
    }
    width = inputStart
  }

  /// Rewrites one `factored_jacobian` row as C class rows of `width` floats.
  func rearrange(_ row: UnsafePointer<Float>, into classRows: UnsafeMutablePointer<Float>) {
    let (c, plain) = (factors.numOutputs, factors.plainCount)
    for k in 0..<c {
      let line = classRows + k * width
      line.update(from: row + k * plain, count: plain)
      for group in groups {
        let o = group.deltas.count
        (line + group.deltas.lowerBound).update(from: row + group.sourceDeltas.lowerBound + k * o, count: o)
        (line + group.inputs.lowerBound).update(from: row + group.sourceInputs.lowerBound, count: group.inputs.count)
      }
    }
  }
}
