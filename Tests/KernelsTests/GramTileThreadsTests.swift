import BackendLoader
import Testing

@testable import Kernels

/// A kernel of one panel pair (at most `GramTile.panelSide` samples) shares its feature chunks
/// between threads; each chunk is the same sgemm call whichever thread makes it, so the tile keeps
/// its bits.
@Test func onePanelPairSplitsItsChunksBetweenThreadsWithoutChangingABit() {
  let samples = 21
  let length = 3 * GramTile.accumulationChunk + 100
  var state: UInt64 = 0x9E37_79B9_7F4A_7C15
  let features = (0..<samples * length).map { _ -> Float in
    state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
    return Float(Int64(bitPattern: state >> 11) % 2001 - 1000) / 1000
  }
  let description = ModelDescription(
    inputShape: [1], numOutputs: 1, numParams: length, embeddingSize: 0,
    parameterGroups: [ParameterGroup(name: "w", offset: 0, count: length)])
  func tile(threads: Int) -> [Float] {
    let gram = GramTile(kind: .pntk, description: description, featureLength: length, threads: threads)
    var output = [Float](repeating: .nan, count: samples * samples)
    features.withUnsafeBufferPointer { rows in
      output.withUnsafeMutableBufferPointer { out in
        _ = gram.compute(
          rowFeatures: rows.baseAddress!, rows: samples, rowStart: 0, rowTotal: samples, columnFeatures: nil,
          columns: samples, columnStart: 0, columnTotal: samples, cosine: nil, output: out.baseAddress!)
      }
    }
    return output
  }
  let one = tile(threads: 1)
  #expect(tile(threads: 2) == one)
  #expect(tile(threads: 3) == one)
  // And the values are the Gram: float64 dot products of the rows.
  for (i, j) in [(0, 0), (3, 17), (20, 5)] {
    let exact = (0..<length).reduce(0.0) { $0 + Double(features[i * length + $1]) * Double(features[j * length + $1]) }
    #expect(abs(Double(one[i * samples + j]) - exact) <= 1e-6 * abs(exact) + 1e-4)
  }
}
