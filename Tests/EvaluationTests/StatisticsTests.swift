import Testing

@testable import Evaluation

// Reference values: tools/evaluation_reference.py (scipy.stats and a Python re-implementation of
// the documented generator and bootstrap), or worked by hand in the comments.

@Test func splitMix64MatchesThePublishedSequenceForSeedZero() {
  // The reference implementation's first outputs for seed 0 (Vigna's splitmix64.c).
  var generator = SplitMix64(seed: 0)
  #expect(generator.next() == 0xE220_A839_7B1D_CDAF)
  #expect(generator.next() == 0x6E78_9E6A_A1B9_65F4)
  #expect(generator.next() == 0x06C4_5D18_8009_454F)
}

@Test func spearmanEqualsScipyWithAndWithoutTies() throws {
  let tied = try #require(SpearmanCorrelation.rho([1, 2, 3, 4, 5, 6], [2, 1, 4, 4, 6, 3]))
  #expect(abs(tied - 0.5797710356524484) < 1e-12)
  let plain = try #require(
    SpearmanCorrelation.rho([0.3, -1.2, 2.5, 0.0, 0.7, 1.1, -0.4, 0.9], [1.0, -0.5, 0.2, 0.1, 2.0, 1.5, -1.0, 0.3]))
  // 1 − 6 Σd² / (n(n² − 1)) with Σd² = 32, n = 8: 1 − 192/504 = 0.6190476…
  #expect(abs(plain - (1 - 192.0 / 504)) < 1e-12)
}

@Test func spearmanRanksShareTheMeanOfTiedRanks() {
  // 10 and 10 take ranks 2 and 3, so both get 2.5.
  #expect(SpearmanCorrelation.ranks([5, 10, 10, 20]) == [1, 2.5, 2.5, 4])
  // A monotone transformation keeps ρ = 1; reversing gives −1; a constant is undefined.
  #expect(SpearmanCorrelation.rho([1, 2, 3], [1, 8, 27]) == 1)
  #expect(SpearmanCorrelation.rho([1, 2, 3], [3, 2, 1]) == -1)
  #expect(SpearmanCorrelation.rho([1, 2, 3], [4, 4, 4]) == nil)
  #expect(SpearmanCorrelation.rho([1], [2]) == nil)
}

@Test func bootstrapIntervalEqualsTheReferenceImplementation() throws {
  let interval = try #require(
    BootstrapInterval.ofMean([0.1, 0.4, -0.2, 0.9, 0.5, 0.3, 0.0], resamples: 200, seed: 7))
  #expect(abs(interval.lower - 0.05678571428571434) < 1e-12)
  #expect(abs(interval.upper - 0.49999999999999994) < 1e-12)
  // Resampling a constant gives that constant at both ends; no values, no interval.
  let constant = try #require(BootstrapInterval.ofMean([0.25, 0.25, 0.25], resamples: 50, seed: 1))
  #expect(constant.lower == 0.25 && constant.upper == 0.25)
  #expect(BootstrapInterval.ofMean([]) == nil)
}

@Test func subsetsAreSeededDrawsWithoutReplacement() {
  #expect(RandomSubsets.subset(index: 3, seed: 11, trainCount: 10, size: 5) == [0, 1, 3, 6, 9])
  // 0.5 · 7 = 3.5 rounds to 4; sizes stay within 1...N−1.
  #expect(RandomSubsets.size(trainCount: 7, fraction: 0.5) == 4)
  #expect(RandomSubsets.size(trainCount: 10, fraction: 0.001) == 1)
  #expect(RandomSubsets.size(trainCount: 10, fraction: 0.999) == 9)
  let other = RandomSubsets.subset(index: 4, seed: 11, trainCount: 10, size: 5)
  #expect(Set(other).count == 5 && other != [0, 1, 3, 6, 9])
}

@Test func marginIsTheLabelLogitMinusLogSumExpOfTheOthers() {
  // 2 − log(e⁰ + e⁰) = 2 − ln 2.
  #expect(abs(Margin.of(logits: [2, 0, 0], label: 0) - (2 - 0.6931471805599453)) < 1e-15)
  // Two classes: f_y − f_other.
  #expect(Margin.of(logits: [0.5, 3], label: 0) == -2.5)
  // Large logits do not overflow: 1000 − (1000 + ln 2) = −ln 2.
  #expect(abs(Margin.of(logits: [1000, 1000, 1000], label: 1) + 0.6931471805599453) < 1e-12)
}

@Test func ldsOfAHandWorkedCase() throws {
  // N = 3, scores (1, 2, 3) for the one test point; subsets {0,1}, {1,2}, {0,2} predict 3, 5, 4.
  let subsets = [[0, 1], [1, 2], [0, 2]]
  let agreeing = LinearDatamodelingScore(
    method: "kglm", scores: [1, 2, 3], trainCount: 3, subsets: subsets, margins: [[0.1], [0.3], [0.2]])
  #expect(agreeing.value == 1 && agreeing.definedCount == 1)
  #expect(agreeing.examples.first?.predicted == [3, 5, 4])
  // Two test points: the second's margins run against its predictions (ρ = −1), mean 0; a third
  // with constant margins is undefined and left out.
  let mixed = LinearDatamodelingScore(
    method: "kglm", scores: [1, 2, 3, 1, 2, 3, 1, 2, 3], trainCount: 3, subsets: subsets,
    margins: [[0.1, 0.3, 1], [0.3, 0.1, 1], [0.2, 0.2, 1]])
  #expect(mixed.value == 0 && mixed.definedCount == 2 && mixed.testCount == 3)
  let interval = try #require(mixed.interval)
  #expect(interval.lower >= -1 && interval.upper <= 1 && interval.lower <= 0 && interval.upper >= 0)
}

@Test func detectionAUCEqualsMannWhitneyAndCountsFound() throws {
  // Hand count: 0.9 and 0.8 beat all 5 negatives, 0.6 beats 4, 0.35 beats 2 and ties 1 (½):
  // 16.5 / 20 = 0.825, as scipy's U / (n₊ n₋).
  let scores = [0.9, 0.7, 0.8, 0.2, 0.35, 0.35, 0.1, 0.6, 0.4]
  let flagged = [true, false, true, false, true, false, false, true, false]
  let curve = DetectionCurve(scores: scores, flagged: flagged, inspected: [0.1, 0.2, 0.5])
  #expect(try #require(curve.auc) == 0.825)
  // Ranking 0 (0.9), 2 (0.8), 1 (0.7), 7 (0.6), 8 (0.4), …: ⌈0.9⌉ = 1 point finds 1 of 4;
  // ⌈1.8⌉ = 2 find 2; ⌈4.5⌉ = 5 find 3.
  #expect(curve.inspections.map(\.found) == [0.25, 0.5, 0.75])
  #expect(DetectionCurve(scores: [1, 2], flagged: [false, false]).auc == nil)
}

@Test func labelFlipsEqualTheReferenceImplementation() {
  let flips = LabelFlips(labels: (0..<10).map { $0 % 3 }, classCount: 3, fraction: 0.3, seed: 5)
  #expect(flips.indices == [0, 8, 9])
  #expect(flips.labels == [2, 1, 2, 0, 1, 2, 0, 1, 0, 2])
  // Every flipped label is another class; the others are unchanged.
  for i in 0..<10 { #expect((flips.labels[i] != i % 3) == flips.indices.contains(i)) }
}
