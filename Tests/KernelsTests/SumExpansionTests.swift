import BackendLoader
import EntkTestSupport
import Testing

@testable import Kernels

/// Which sums the kernel stage turns back into whole columns (`SumExpansion`), for the two ONNX
/// fixtures whose convolutions are sums, by the documented per-sample cost rule.
@Test func sumExpansionExpandsManyPositionsOfFewChannelsOnly() throws {
  let library = try BackendLibrary.load("onnx")
  let digits = try library.open(
    model: KernelFixture.onnxCNN.model.path, options: #"{"conv_factors": "always"}"#)
  let layout = try #require(digits.factorLayout)
  // The digits CNN: conv1 (R = 64, I = 9, O = 16) and conv2 (R = 16, I = 144, O = 32). For trntk
  // (C = 10) whole columns cost 10·16·9·(2·64 + 64 + 64) = 0.37 M flop-equivalents a sample
  // against 64·64²·(9 + 160) + 64·64·169 = 45 M for the sum, and conv2 7.4 M against 8.1 M.
  for kind in [KernelKind.trntk, .layers, .pntk] {
    let expansion = try #require(SumExpansion.of(kind: kind, factors: layout), "\(kind)")
    let expanded = expansion.target.segments.enumerated().compactMap { index, segment -> Int? in
      guard case .factored(let input, _) = segment, input.count == 1, case .summed = layout.segments[index] else {
        return nil
      }
      return index
    }
    #expect(expanded == [0, 2], "\(kind)")
    // Each sum's R·I + c·R·O floats become 1 + c·O·I (c = 1 for pntk's summed rows).
    let c = kind == .pntk ? 1 : 10
    let change = (1 + c * 16 * 9) - (64 * 9 + c * 64 * 16) + (1 + c * 32 * 144) - (16 * 144 + c * 16 * 32)
    #expect(expansion.target.rowLength == expansion.source.rowLength + change, "\(kind)")
  }
  #expect(SumExpansion.of(kind: .entk, factors: layout) == nil)
  // 2×2 positions of 32 channels: every kind keeps both sums.
  let sums = try library.open(model: KernelFixture.onnxConvSums.model.path, options: nil)
  for kind in [KernelKind.trntk, .layers, .pntk] {
    #expect(SumExpansion.of(kind: kind, factors: try #require(sums.factorLayout)) == nil, "\(kind)")
  }
}
