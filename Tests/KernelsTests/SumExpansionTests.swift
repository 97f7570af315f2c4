import BackendLoader
import EntkTestSupport
import Testing

@testable import Kernels

/// Which sums the kernel stage turns back into whole columns (`SumExpansion`), for the two ONNX
/// fixtures whose convolutions are sums, by the documented per-sample cost rule; the projected
/// kinds read the backend's rows as they are.
@Test func sumExpansionExpandsManyPositionsOfFewChannelsOnly() throws {
  let library = try BackendLibrary.load("onnx")
  let digits = try library.open(
    model: KernelFixture.onnxCNN.model.path, options: #"{"conv_factors": "always"}"#)
  let layout = try #require(digits.factorLayout)
  // The digits CNN: conv1 (R = 64, I = 9, O = 16) and conv2 (R = 16, I = 144, O = 32). For trntk
  // (C = 10) whole columns cost 10·16·9·(2·64 + 64 + 64) = 0.37 M flop-equivalents a sample
  // against 64·64²·(9 + 160) + 64·64·169 = 45 M for the sum, and conv2 7.4 M against 8.1 M. entk
  // weighs a class row meeting 64·10 rows: conv2's columns 4608·(32 + 640 + 64) = 3.4 M against
  // 640·16²·176 + 64·16·176 = 29 M for the sum. conv2's sum, 16·(144 + c·32) floats, is at most
  // half its c·4608 columns for c = 10, so trntk and layers make those columns in the Gram and keep
  // the sum in their features; conv1's sum (64·(9 + c·16)) is larger than its columns, and pntk's
  // conv2 sum (c = 1: 2816 floats) more than half of them, so those are written. entk writes all.
  let length = { (kind: KernelKind) in
    FeatureProducer.featureLength(
      kind: kind, description: digits.description, projectionDim: 0, factors: layout, pairedSamples: 64)
  }
  for kind in [KernelKind.trntk, .layers, .pntk, .entk] {
    let expansion = try #require(SumExpansion.of(kind: kind, factors: layout, pairedSamples: 64), "\(kind)")
    #expect(expansion.expandedGroups == [0, 2], "\(kind)")
    let inGram = kind == .trntk || kind == .layers
    #expect(expansion.expandedInGram == (inGram ? [2] : []), "\(kind)")
    // Each written sum's R·I + c·R·O floats become 1 + c·O·I (c = 1 for pntk's summed rows).
    let c = kind == .pntk ? 1 : 10
    let change =
      (1 + c * 16 * 9) - (64 * 9 + c * 64 * 16) + (inGram ? 0 : (1 + c * 32 * 144) - (16 * 144 + c * 16 * 32))
    #expect(expansion.target.rowLength == expansion.source.rowLength + change, "\(kind)")
    if kind != .entk { #expect(length(kind) == expansion.target.rowLength, "\(kind)") }
  }
  #expect(SumExpansion.of(kind: .projTrntk, factors: layout, pairedSamples: 64) == nil)
  let entk = try #require(SumExpansion.of(kind: .entk, factors: layout, pairedSamples: 64))
  #expect(length(.entk) == layout.numOutputs * ClassRowLayout(entk.target).width)
  // A sample that meets more than one panel of the Gram would make its columns once per panel:
  // they are written instead.
  let many = try #require(SumExpansion.of(kind: .trntk, factors: layout, pairedSamples: GramTile.panelSide + 1))
  #expect(many.expandedGroups == [0, 2] && many.expandedInGram.isEmpty)
  // 2×2 positions of 32 channels: every kind keeps both sums.
  let sums = try library.open(model: KernelFixture.onnxConvSums.model.path, options: nil)
  for kind in [KernelKind.trntk, .layers, .pntk, .entk] {
    #expect(SumExpansion.of(kind: kind, factors: try #require(sums.factorLayout), pairedSamples: 64) == nil, "\(kind)")
  }
}

/// A text model's dense layers as sums over their tokens: fewer samples keep more sums.
///
/// With token_factors always, the rule's n is the samples each sample meets, at most 64, so a
/// kernel of few samples keeps sums that one of 64 turns into columns. Expected groups from the
/// documented rules, computed here per group: trntk's (columns made in the Gram) and entk's
/// (columns written into the features, each class row meeting n·C rows).
@Test func sumExpansionWeighsTheSamplesEachSampleMeets() throws {
  let library = try BackendLibrary.load("onnx")
  let model = try library.open(
    model: TestEnvironment.fixture("onnx/bert-legacy14.onnx").path,
    options: #"{"dims": {"sequence": 8}, "token_factors": "always"}"#)
  let layout = try #require(model.factorLayout)
  let classes = Double(layout.numOutputs)
  func expanded(_ n: Int, kind: KernelKind = .trntk) -> [Int] {
    SumExpansion.of(kind: kind, factors: layout, pairedSamples: n).map { $0.expandedGroups.sorted() } ?? []
  }
  func rule(_ n: Double, kind: KernelKind = .trntk) -> [Int] {
    let (c, n) = kind == .entk ? (1, n * classes) : (classes, n)
    return layout.segments.indices.filter { index in
      guard case .summed(let group) = layout.segments[index], !group.oneHot else { return false }
      let (r, i, o) = (Double(group.terms), Double(group.inputDim), Double(group.outputDim))
      return c * o * i * (2 * r + n + 64) < n * r * r * (i + c * o) + 64 * r * (i + c * o)
    }
  }
  #expect(expanded(64) == rule(64))
  #expect(expanded(500) == rule(64), "n is at most 64")
  #expect(expanded(2) == rule(2))
  #expect(expanded(2).count < expanded(64).count, "fewer samples keep more sums")
  #expect(expanded(2, kind: .entk) == rule(2, kind: .entk))
  #expect(expanded(64, kind: .entk) == rule(64, kind: .entk))
}

extension SumExpansion {
  /// Indices of the summed groups multiplied as whole columns, written or made in the Gram.
  fileprivate var expandedGroups: Set<Int> {
    expandedInGram.union(
      zip(source.segments, target.segments).enumerated().compactMap { index, pair in
        if case (.summed, .factored) = pair { index } else { nil }
      })
  }
}
