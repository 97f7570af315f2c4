import ArrayIO
import Foundation
import Kernels
import Testing

/// Brute-force references, built once per side (they materialise every Jacobian).
enum References {
  static let trainTrain = Result { try BruteForceReference(testRows: false) }
  static let testTrain = Result { try BruteForceReference(testRows: true) }
  static func get(testRows: Bool) throws -> BruteForceReference { try (testRows ? testTrain : trainTrain).get() }
}

@Test(arguments: [KernelKind.entk, .trntk, .pntk, .em, .layers], [false, true])
func unprojectedKindMatchesBruteForceReference(kind: KernelKind, testRows: Bool) throws {
  let reference = try References.get(testRows: testRows)
  for normalize in KernelNormalization.allCases {
    let (values, shape) = try KernelRun(kind: kind, normalize: normalize, testRows: testRows).compute()
    let n = testRows ? 7 : 24
    #expect(shape == kind.storedShape(rows: n, columns: 24, numOutputs: 4, numGroups: 3))
    let error = relativeError(values, reference.kernel(kind, normalize: normalize))
    #expect(error <= 1e-5, "\(kind) \(normalize) test×train=\(testRows): relative Frobenius error \(error)")
  }
}

/// The example-c MLP (20-300-40-4): each layer's W and b are one factored group, I = in + 1, with
/// π(o, j) = o·in + j for W and out·in + o for b (see example_c.c).
let exampleMLPFactoredGroups: [BruteForceReference.FactoredGroup] = {
  var (offset, groups) = (0, [BruteForceReference.FactoredGroup]())
  for (index, (input, output)) in [(20, 300), (300, 40), (40, 4)].enumerated() {
    groups.append(
      .init(index: index, offset: offset, inputDim: input + 1, outputDim: output) { o, j in
        j < input ? o * input + j : output * input + o
      })
    offset += (input + 1) * output
  }
  return groups
}()

/// Every projection against R g_c written out.
///
/// For `factored` with k = 24 the MLP's first two
/// layers get 8 × 1 and 1 × 11 blocks, the last (164 of 18,504 parameters) joins the sparse rest
/// of 5 rows; example-c has no factored vjp, so `proj-pntk` projects plain gradients, all rest.
@Test(arguments: [KernelKind.projTrntk, .projPntk], ProjectionDistribution.allCases)
func projectedKindMatchesReferenceWithExplicitProjection(kind: KernelKind, distribution: ProjectionDistribution) throws
{
  let projection = ProjectionSettings(
    dim: 24, distribution: distribution, seed: 5, density: distribution.takesDensity ? 3 : nil)
  let groups = distribution == .factored && kind == .projTrntk ? exampleMLPFactoredGroups : []
  for testRows in [false, true] {
    let reference = try References.get(testRows: testRows)
    let (values, _) = try KernelRun(kind: kind, projection: projection, testRows: testRows).compute()
    let expected = reference.kernel(kind, normalize: .none, projection: projection, factoredGroups: groups)
    let error = relativeError(values, expected)
    #expect(error <= 1e-5, "\(kind) \(distribution): relative Frobenius error \(error)")
  }
}

@Test func layerKernelsSumToTrntk() throws {
  for testRows in [false, true] {
    let (layers, shape) = try KernelRun(kind: .layers, testRows: testRows).compute()
    let (trntk, _) = try KernelRun(kind: .trntk, testRows: testRows).compute()
    let pairs = shape[1] * shape[2]
    let summed = (0..<pairs).map { index in (0..<shape[0]).reduce(0.0) { $0 + Double(layers[$1 * pairs + index]) } }
    #expect(relativeError(trntk, summed) <= 1e-6)
  }
}

@Test func cosineNormalisedTrainKernelHasUnitDiagonal() throws {
  let (values, _) = try KernelRun(kind: .trntk, normalize: .cosine).compute()
  for i in 0..<24 { #expect(abs(values[i * 24 + i] - 1) <= 1e-6) }
}

/// The Johnson–Lindenstrauss property, for the dense Gaussian and the sparse (s = 4) projection.
@Test(arguments: [ProjectionDistribution.gaussian, .sparse])
func projectedTrntkConvergesToTrntkLikeInverseSquareRootOfK(distribution: ProjectionDistribution) throws {
  let (exact, _) = try KernelRun(kind: .trntk).compute()
  let exactDouble = exact.map(Double.init)
  var errors: [Int: Double] = [:]
  for k in [16, 128, 1024] {
    let projection = ProjectionSettings(
      dim: k, distribution: distribution, seed: 3, density: distribution == .sparse ? 4 : nil)
    let (projected, _) = try KernelRun(kind: .projTrntk, projection: projection).compute()
    errors[k] = relativeError(projected, exactDouble)
  }
  // Each 8× step in k should divide the error by about √8 ≈ 2.8.
  let first = errors[16]! / errors[128]!
  let second = errors[128]! / errors[1024]!
  #expect((1.5...6).contains(first), "\(distribution) error ratio k=16→128: \(first) (errors \(errors))")
  #expect((1.5...6).contains(second), "\(distribution) error ratio k=128→1024: \(second) (errors \(errors))")
  #expect(errors[1024]! < 0.1)
}

/// Any backend works through the loader: SwiftNet's CNN (convolution, batch norm, pooling) checked
/// against the same brute-force reference, with its convolutions as plain columns (the default
/// there) and as sums over their positions (`conv_factors` always).
@Test(arguments: [KernelKind.entk, .trntk, .pntk, .em, .layers])
func swiftnetCNNKernelMatchesBruteForceReference(kind: KernelKind) throws {
  for testRows in [false, true] {
    let reference = try BruteForceReference(fixture: .swiftnetCNN, testRows: testRows)
    for normalize in KernelNormalization.allCases {
      for options in [nil, #"{"conv_factors": "always"}"#] {
        let run = KernelRun(
          kind: kind, fixture: .swiftnetCNN, normalize: normalize, testRows: testRows, tileSide: 3, options: options)
        let error = relativeError(try run.compute().values, reference.kernel(kind, normalize: normalize))
        #expect(
          error <= 1e-5,
          "swiftnet-cnn \(kind) \(normalize) test×train=\(testRows) \(options ?? ""): relative Frobenius error \(error)"
        )
      }
    }
  }
}

/// The ONNX backend's digits CNN against kernels torch.func computed from its own Jacobians.
@Test(arguments: [KernelKind.entk, .trntk, .pntk, .em, .layers], [false, true])
func onnxCNNKernelMatchesTorchFuncReference(kind: KernelKind, testRows: Bool) throws {
  let fixture = KernelFixture.onnxCNN
  let file = fixture.folder.appendingPathComponent("\(kind.rawValue)_\(testRows ? "test" : "train").npy")
  let reference = try NPYFile.read(file)
  let run = KernelRun(kind: kind, fixture: fixture, testRows: testRows, tileSide: 3)
  let (values, shape) = try run.compute()
  #expect(shape == reference.shape)
  let error = relativeError(values, reference.float64Values())
  #expect(error <= 1e-5, "onnx cnn \(kind) test×train=\(testRows): relative Frobenius error \(error)")
}

/// The same references with the convolutions as sums over their output positions.
///
/// ABI 1.3 `terms`, the ONNX option conv_factors always. The kernel stage turns those sums back into whole
/// columns (`SumExpansion`: few channels at many positions) for every kind, entk's before they
/// become class rows; whole kernels and tiles of 3 on 1 and 2 threads have the same bits (with the
/// backend's batching off, so that each sample's rows have the same bits in any batch).
@Test(arguments: [KernelKind.entk, .trntk, .pntk, .layers], [false, true])
func onnxCNNKernelFromConvolutionSumsMatchesTorchFuncReference(kind: KernelKind, testRows: Bool) throws {
  let fixture = KernelFixture.onnxCNN
  let reference = try NPYFile.read(
    fixture.folder.appendingPathComponent("\(kind.rawValue)_\(testRows ? "test" : "train").npy"))
  var run = KernelRun(
    kind: kind, fixture: fixture, testRows: testRows, options: #"{"conv_factors": "always", "batching": "off"}"#)
  for normalize in KernelNormalization.allCases {
    run.normalize = normalize
    let (whole, shape) = try run.compute()
    #expect(shape == reference.shape)
    if normalize == .none {
      let error = relativeError(whole, reference.float64Values())
      #expect(error <= 1e-5, "\(kind) test×train=\(testRows): relative Frobenius error \(error)")
    }
    for (side, threads) in [(3, 1), (3, 2), (nil, 2)] {
      (run.tileSide, run.threads) = (side, threads)
      let values = try run.compute().values
      #expect(differingBits(values, whole) == 0, "\(kind) \(normalize) tile \(side ?? 0) threads \(threads)")
    }
    (run.tileSide, run.threads) = (nil, 1)
  }
}

/// `--proj-kind factored` on the digits CNN with its convolutions as sums over positions.
///
/// With conv_factors always and k = 64, conv2 (16 terms) gets a 2 × 10 block, fc1's weight 4 × 9,
/// fc2's 1 × 2; conv1, the biases and the plain conv biases make the sparse rest of 6 rows.
/// `proj-pntk` reads the factored vjp's rows of summed classes. Against R g_c written out from
/// whole Jacobians, and with the same bits for batches of 3, tiles of 3 and 2 threads (the
/// backend's batching off).
@Test(arguments: [KernelKind.projTrntk, .projPntk])
func factoredProjectionOfConvolutionSumsMatchesReference(kind: KernelKind) throws {
  let fixture = KernelFixture.onnxCNN
  // Every factored group is stored [O, I] (Conv weights [O, C, kh, kw], Gemm transB = 1, biases).
  let shapes = [
    ("conv1.weight", 9, 16), ("conv2.weight", 144, 32), ("fc1.weight", 128, 64), ("fc1.bias", 1, 64),
    ("fc2.weight", 64, 10), ("fc2.bias", 1, 10),
  ]
  let description = try fixture.models(1)[0].description
  let groups = try shapes.map { name, input, output in
    let index = try #require(description.parameterGroups.firstIndex { $0.name == name })
    let offset = description.parameterGroups[index].offset
    return BruteForceReference.FactoredGroup(index: index, offset: offset, inputDim: input, outputDim: output) { o, j in
      o * input + j
    }
  }
  let projection = ProjectionSettings(dim: 64, distribution: .factored, seed: 9, density: 2)
  for testRows in [false, true] {
    let reference = try BruteForceReference(fixture: fixture, testRows: testRows)
    var run = KernelRun(
      kind: kind, fixture: fixture, projection: projection, testRows: testRows,
      options: #"{"conv_factors": "always", "batching": "off"}"#)
    let (values, _) = try run.compute()
    let expected = reference.kernel(kind, normalize: .none, projection: projection, factoredGroups: groups)
    let error = relativeError(values, expected)
    #expect(error <= 1e-5, "\(kind) test×train=\(testRows): relative Frobenius error \(error)")
    (run.batchSize, run.tileSide, run.threads) = (3, 3, 2)
    #expect(differingBits(try run.compute().values, values) == 0)
  }
}

/// Sums kept by every kind (`onnxConvSums`: 2×2 positions of 32 channels): the Gram's sgemm path
/// for dense sums against the whole-Jacobian kernel (`--factors off`), raw and cosine, train×train
/// and test×train, with the same bits for tiles of 5 (which cut the sub-panels), 2 threads and
/// batches of 3 (the backend's batching off).
@Test(arguments: [KernelKind.entk, .trntk, .pntk, .layers], [false, true])
func convolutionSumsKeptByEveryKindMatchWholeJacobians(kind: KernelKind, testRows: Bool) throws {
  var run = KernelRun(kind: kind, fixture: .onnxConvSums, testRows: testRows, options: #"{"batching": "off"}"#)
  for normalize in KernelNormalization.allCases {
    run.normalize = normalize
    run.factors = .off
    let whole = try run.compute().values
    run.factors = .auto
    let sums = try run.compute().values
    let error = relativeError(sums, whole.map(Double.init))
    #expect(error <= 1e-5, "\(kind) \(normalize) test×train=\(testRows): relative Frobenius error \(error)")
    (run.tileSide, run.threads, run.batchSize) = (5, 2, 3)
    #expect(differingBits(try run.compute().values, sums) == 0, "\(kind) \(normalize) tiles of 5, 2 threads")
    (run.tileSide, run.threads, run.batchSize) = (nil, 1, 64)
  }
}
