import BackendLoader
import COpenBLAS
import Dispatch

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

  /// Threads for the layout pass (BLAS threads are set with `openblas_set_num_threads`).
  public let threads: Int

  public init(kind: KernelKind, description: ModelDescription, featureLength: Int, threads: Int = 1) {
    self.threads = max(1, threads)
    self.kind = kind
    self.description = description
    self.featureLength = featureLength
  }

  /// One matrix product of the tile: columns offset..<offset+width of the feature rows viewed as
  /// `viewRowsPerSample` rows per sample with leading dimension `leadingDimension`, summed into accumulator
  /// `target`.
  private struct Term {
    var offset: Int
    var width: Int
    var target: Int
  }

  /// Rows of the feature view per sample: C for `entk` (each class a row of P), else 1.
  private var viewRowsPerSample: Int { kind == .entk ? description.numOutputs : 1 }
  private var leadingDimension: Int { kind == .entk ? description.numParams : featureLength }
  private var accumulatorCount: Int { kind == .layers ? description.parameterGroups.count : 1 }

  private var terms: [Term] {
    switch kind {
    case .layers:
      let (c, p) = (description.numOutputs, description.numParams)
      return description.parameterGroups.enumerated().flatMap { index, group in
        (0..<c).map { Term(offset: $0 * p + group.offset, width: group.count, target: index) }
      }
    default:
      return [Term(offset: 0, width: leadingDimension, target: 0)]
    }
  }

  /// Float32 values in a tile of `rows` × `columns` samples.
  public func tileCount(rows: Int, columns: Int) -> Int {
    rows * columns
      * kind.valuesPerPair(numOutputs: description.numOutputs, numGroups: description.parameterGroups.count)
  }

  /// Bytes of working memory `compute` allocates for a tile (one float64 accumulator and a
  /// float32 sgemm scratch at a time), not counting the features or the output.
  public func workingBytes(rows: Int, columns: Int) -> Int {
    let m = viewRowsPerSample
    return rows * m * columns * m * 12
  }

  /// Self-kernels of each feature row in float64, per accumulator: [target][row·m + class] (m = C
  /// for `entk`, 1 otherwise); what cosine normalisation divides by.
  public func selfValues(_ features: UnsafePointer<Float>, samples: Int) -> [[Double]] {
    let m = viewRowsPerSample
    var values = [[Double]](repeating: [Double](repeating: 0, count: samples * m), count: accumulatorCount)
    for term in terms {
      for row in 0..<samples * m {
        let line = features + row * leadingDimension + term.offset
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
    let products = terms.flatMap { term in
      stride(from: 0, to: term.width, by: Self.accumulationChunk).map { start in
        Term(offset: term.offset + start, width: min(Self.accumulationChunk, term.width - start), target: term.target)
      }
    }
    let scratchBuffer = FloatBuffer(count: rv * sv)
    let scratch = scratchBuffer.pointer
    var flops = 0.0
    for target in 0..<accumulatorCount {
      let mine = products.filter { $0.target == target }
      // One product needs no float64 sum: its float32 result is stored as it is.
      var accumulator = [Double](repeating: 0, count: mine.count > 1 ? rv * sv : 0)
      for product in mine {
        let a = rowFeatures + product.offset
        if let columnFeatures {
          cblas_sgemm(
            CblasRowMajor, CblasNoTrans, CblasTrans, Int32(rv), Int32(sv), Int32(product.width), 1, a,
            Int32(leadingDimension),
            columnFeatures + product.offset, Int32(leadingDimension), 0, scratch, Int32(sv))
          flops += 2 * Double(rv) * Double(sv) * Double(product.width)
        } else {
          cblas_ssyrk(
            CblasRowMajor, CblasUpper, CblasNoTrans, Int32(rv), Int32(product.width), 1, a, Int32(leadingDimension),
            0, scratch, Int32(rv))
          flops += Double(rv) * Double(rv + 1) * Double(product.width)
        }
        if mine.count > 1 {
          accumulator.withUnsafeMutableBufferPointer { acc in
            for i in 0..<rv {
              for j in (symmetric ? i : 0)..<sv { acc[i * sv + j] += Double(scratch[i * sv + j]) }
            }
          }
        }
      }
      let normalisation = cosine.map { ($0.rows[target], $0.columns[target]) }
      if mine.count > 1 {
        accumulator.withUnsafeBufferPointer { values in
          guard let base = values.baseAddress else { return }
          store(
            base, target: target, rows: r, columns: s, symmetric: symmetric, cosine: normalisation,
            into: output)
        }
      } else {
        store(
          UnsafePointer(scratch), target: target, rows: r, columns: s, symmetric: symmetric, cosine: normalisation,
          into: output)
      }
    }
    return flops
  }

  /// Writes one accumulator (rv × sv, only its upper triangle valid when `symmetric`) to float32
  /// in the stored layout, mirroring and normalising on the way, in 64 × 64 blocks so the mirrored
  /// reads stay in cache.
  private func store<Value: BinaryFloatingPoint>(
    _ source: UnsafePointer<Value>, target: Int, rows r: Int, columns s: Int, symmetric: Bool,
    cosine: ([Double], [Double])?, into output: UnsafeMutablePointer<Float>
  ) {
    let m = viewRowsPerSample
    let (rv, sv) = (r * m, s * m)
    // Output offset of view element (row i·m + a, column j·m + b): [i, j, a, b] for entk, whose
    // column part j·m² + b is tabulated once; [target, i, j] otherwise.
    let columnOffsets = (0..<sv).map { m == 1 ? $0 : $0 / m * m * m + $0 % m }
    let base = UnsafeSendable(output + target * r * s)
    let input = UnsafeSendable(source)
    let block = 64
    let blocks = (rv + block - 1) / block
    let parts = min(threads, blocks)
    let (rowSelves, columnSelves) = (cosine?.0, cosine?.1)
    // Row blocks are split between threads; each writes its own rows of the output.
    DispatchQueue.concurrentPerform(iterations: parts) { part in
      let (source, base) = (input.value, base.value)
      columnOffsets.withUnsafeBufferPointer { columnOffset in
        for rowBlock in blocks * part / parts..<blocks * (part + 1) / parts {
          let i0 = rowBlock * block
          for j0 in stride(from: 0, to: sv, by: block) {
            for i in i0..<min(i0 + block, rv) {
              let row = base + (m == 1 ? i * s : i / m * s * m * m + i % m * m)
              let rowSelf = rowSelves?[i] ?? 1
              for j in j0..<min(j0 + block, sv) {
                var value = Double(symmetric && j < i ? source[j * sv + i] : source[i * sv + j])
                if let columnSelves {
                  let norm = (rowSelf * columnSelves[j]).squareRoot()
                  value = norm > 0 ? value / norm : 0
                }
                row[columnOffset[j]] = Float(value)
              }
            }
          }
        }
      }
    }
  }
}
