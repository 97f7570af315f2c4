import Testing

@testable import ONNXBackend

/// The reverse pass carrying K cotangent rows at once (what `jacobian` runs, K = C) against K
/// separate one-row passes (each checked against finite differences in OperatorGradientTests),
/// on every operator case there: stacking must not mix rows.
///
/// Tolerance |stacked − separate| ≤ 1e-5·(1 + |separate|): the same float32 sums, possibly
/// blocked differently inside one larger sgemm.
struct StackedReverseTests {
  @Test(arguments: OperatorGradientTests.cases)
  func stackedRowsMatchSeparatePasses(_ c: OperatorGradientTests.Case) throws {
    let single = try OperatorGradientTests.SingleNode(c)
    let rows = 3
    let forward = try single.interpreter.run(single.initializers)
    var numbers = OperatorGradientTests.Numbers(state: 11)
    var rowSeeds: [[Tensor]] = []  // [output][row]
    var stackedSeeds: [String: Tensor] = [:]
    for name in single.outputNames {
      let y = try #require(forward[name])
      let seeds = (0..<rows).map { _ in numbers.tensor(y.shape) }
      rowSeeds.append(seeds)
      stackedSeeds[name] = Tensor(shape: [rows] + y.shape, floats: try seeds.flatMap { try $0.floats("seed") })
    }
    let sources = Set(c.differentiable.map { single.inputNames[$0] })
    let stacked = try single.interpreter.gradients(
      values: forward, seeds: stackedSeeds, rows: rows, sources: sources)

    for r in 0..<rows {
      var seeds: [String: Tensor] = [:]
      for (name, perRow) in zip(single.outputNames, rowSeeds) {
        seeds[name] = perRow[r].reshaped([1] + perRow[r].shape)
      }
      let separate = try single.interpreter.gradients(values: forward, seeds: seeds, rows: 1, sources: sources)
      for slot in c.differentiable {
        let name = single.inputNames[slot]
        let expected = try #require(separate[name], "no gradient for input \(slot)").floats("gradient")
        let all = try #require(stacked[name]).floats("stacked gradient")
        #expect(all.count == rows * expected.count)
        let row = all[(r * expected.count)..<((r + 1) * expected.count)]
        for (j, (got, want)) in zip(row, expected).enumerated() {
          #expect(abs(got - want) <= 1e-5 * (1 + abs(want)), "row \(r), input \(slot)[\(j)]: \(got) vs \(want)")
        }
      }
    }
  }
}
