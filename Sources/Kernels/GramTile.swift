import BackendLoader
import COpenBLAS

/// Computes one tile of a kernel from two blocks of features with OpenBLAS, in the stored layout.
///
/// Accumulation: each product runs through `cblas_sgemm` (or `cblas_ssyrk` on a diagonal tile of a
/// symmetric kernel, half the work) over at most `accumulationChunk` features at a time, in float32;
/// the partial results are summed in float64. So float32 rounding grows with at most 8192 terms,
/// not with C·P (which reaches millions), and the relative error stays around 1e-7–1e-6, well
/// inside the 1e-5 tolerance the tests check against a float64 reference. Chunk boundaries are
/// fixed by the feature layout alone, so a value does not depend on tile or batch size.
public struct GramTile {
  /// Longest inner dimension handed to one float32 sgemm/ssyrk call.
  public static let accumulationChunk = 8192

  public let kind: KernelKind
  public let description: ModelDescription
  /// Floats per sample in a feature row (`FeatureProducer.featureLength`).
  public let featureLength: Int

  public init(kind: KernelKind, description: ModelDescription, featureLength: Int) {
    self.kind = kind
    self.description = description
    self.featureLength = featureLength
  }

  /// One matrix product of the tile: columns offset..<offset+width of the feature rows viewed as
  /// `viewRowsPerSample` rows per sample with leading dimension `stride`, summed into accumulator
  /// `target`.
  private struct Term {
    var offset: Int
    var width: Int
    var target: Int
  }

  /// Rows of the feature view per sample: C for `entk` (each class a row of P), else 1.
  private var viewRowsPerSample: Int { kind == .entk ? description.numOutputs : 1 }
  private var stride: Int { kind == .entk ? description.numParams : featureLength }
  private var accumulatorCount: Int { kind == .layers ? description.parameterGroups.count : 1 }

  private var terms: [Term] {
    switch kind {
    case .layers:
      let (c, p) = (description.numOutputs, description.numParams)
      return description.parameterGroups.enumerated().flatMap { index, group in
        (0..<c).map { Term(offset: $0 * p + group.offset, width: group.count, target: index) }
      }
    default:
      return [Term(offset: 0, width: stride, target: 0)]
    }
  }

  /// Float32 values in a tile of `rows` × `columns` samples.
  public func tileCount(rows: Int, columns: Int) -> Int {
    rows * columns * kind.valuesPerPair(numOutputs: description.numOutputs, numGroups: description.parameterGroups.count)
  }

  /// Bytes of working memory `compute` allocates for a tile (float64 accumulators and a float32
  /// sgemm scratch), not counting the features or the output.
  public func workingBytes(rows: Int, columns: Int) -> Int {
    let m = viewRowsPerSample
    return tileCount(rows: rows, columns: columns) * 8 + rows * m * columns * m * 4
  }

  /// Self-kernels of each feature row in float64, per accumulator: [target][row·m + class] (m = C
  /// for `entk`, 1 otherwise); what cosine normalisation divides by.
  public func selfValues(_ features: UnsafePointer<Float>, samples: Int) -> [[Double]] {
    let m = viewRowsPerSample
    var values = [[Double]](repeating: [Double](repeating: 0, count: samples * m), count: accumulatorCount)
    for term in terms {
      for row in 0..<samples * m {
        let line = features + row * stride + term.offset
        var sum = 0.0
        for index in 0..<term.width { sum += Double(line[index]) * Double(line[index]) }
        values[term.target][row] += sum
      }
    }
    return values
  }

  /// Computes the tile K(rows, columns) into `output` (float32, stored layout:
  /// [r, s], [r, s, C, C] or [L, r, s]).
  ///
  /// - Parameters:
  ///   - rowFeatures: r × featureLength float32 features of the tile's row samples.
  ///   - columnFeatures: s × featureLength features of its column samples, or nil for a diagonal
  ///     tile of a symmetric kernel (columns = rows; computed with ssyrk and mirrored).
  ///   - cosine: when given, (row, column) self-values from `selfValues`; each value is divided by
  ///     √(K(x,x)·K(x',x')), and by nothing (giving 0) where a self-value is 0.
  /// - Returns: floating-point operations performed by sgemm/ssyrk.
  @discardableResult
  public func compute(
    rowFeatures: UnsafePointer<Float>, rows r: Int, columnFeatures: UnsafePointer<Float>?, columns s: Int,
    cosine: (rows: [[Double]], columns: [[Double]])?, output: UnsafeMutablePointer<Float>
  ) -> Double {
    let m = viewRowsPerSample
    let (rv, sv) = (r * m, s * m)
    let symmetric = columnFeatures == nil
    precondition(!symmetric || r == s)
    var accumulators = [[Double]](repeating: [Double](repeating: 0, count: rv * sv), count: accumulatorCount)
    var scratch = [Float](repeating: 0, count: rv * sv)
    var flops = 0.0
    scratch.withUnsafeMutableBufferPointer { scratchBuffer in
      let scratch = scratchBuffer.baseAddress!
      for term in terms {
        var start = 0
        while start < term.width {
          let width = min(Self.accumulationChunk, term.width - start)
          let a = rowFeatures + term.offset + start
          if let columnFeatures {
            cblas_sgemm(
              CblasRowMajor, CblasNoTrans, CblasTrans, Int32(rv), Int32(sv), Int32(width), 1, a, Int32(stride),
              columnFeatures + term.offset + start, Int32(stride), 0, scratch, Int32(sv))
            flops += 2 * Double(rv) * Double(sv) * Double(width)
          } else {
            cblas_ssyrk(CblasRowMajor, CblasUpper, CblasNoTrans, Int32(rv), Int32(width), 1, a, Int32(stride), 0, scratch, Int32(rv))
            flops += Double(rv) * Double(rv + 1) * Double(width)
          }
          accumulators[term.target].withUnsafeMutableBufferPointer { acc in
            for i in 0..<rv {
              let from = symmetric ? i : 0
              for j in from..<sv { acc[i * sv + j] += Double(scratch[i * sv + j]) }
            }
          }
          start += width
        }
      }
    }
    for target in 0..<accumulatorCount {
      accumulators[target].withUnsafeMutableBufferPointer { acc in
        if symmetric {
          for i in 0..<rv { for j in 0..<i { acc[i * sv + j] = acc[j * sv + i] } }
        }
        if let cosine {
          let (rowSelf, columnSelf) = (cosine.rows[target], cosine.columns[target])
          for i in 0..<rv {
            for j in 0..<sv {
              let norm = (rowSelf[i] * columnSelf[j]).squareRoot()
              acc[i * sv + j] = norm > 0 ? acc[i * sv + j] / norm : 0
            }
          }
        }
        store(acc, target: target, rows: r, columns: s, into: output)
      }
    }
    return flops
  }

  /// Rounds accumulator `target` (rv × sv float64) to float32 in the stored layout.
  private func store(_ acc: UnsafeMutableBufferPointer<Double>, target: Int, rows r: Int, columns s: Int, into output: UnsafeMutablePointer<Float>) {
    switch kind {
    case .entk:
      let c = description.numOutputs
      let sv = s * c
      for i in 0..<r {
        for j in 0..<s {
          let block = output + (i * s + j) * c * c
          for a in 0..<c { for b in 0..<c { block[a * c + b] = Float(acc[(i * c + a) * sv + j * c + b]) } }
        }
      }
    default:
      let base = output + target * r * s
      for index in 0..<r * s { base[index] = Float(acc[index]) }
    }
  }
}
