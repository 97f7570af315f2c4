import Testing

@testable import Reporter

/// Axis ticks for any range a bundle's logits can give: round values inside the range, a few of
/// them, and an end even where the step is below the values' float spacing (logits near 1e30 a
/// few ulps apart once looped forever).
@Test(arguments: [
  (0.0, 1.0), (-3.2, 7.9), (1e30, 1e30.nextUp.nextUp), (-1e300, 1e300), (5.0, 5.0), (1e-300, 2e-300),
])
func ticksAreFewRoundAndInsideTheRange(low: Double, high: Double) {
  let ticks = SVGCharts.ticks(low, high)
  #expect(!ticks.isEmpty && ticks.count <= 12, "\(ticks.count) ticks")
  for tick in ticks where high > low {
    #expect(
      tick >= low - (high - low) * 1e-9 && tick <= high + (high - low) * 1e-9, "\(tick) outside [\(low), \(high)]")
  }
  if low == 0 && high == 1 {
    #expect(ticks.count == 6 && ticks.enumerated().allSatisfy { abs($1 - 0.2 * Double($0)) < 1e-12 }, "\(ticks)")
  }
}
