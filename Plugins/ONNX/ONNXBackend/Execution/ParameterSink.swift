/// Where the reverse pass writes a parameter's stacked gradient: row r (of K) at
/// `base + r · rowStride`, `count` floats, straight into the caller's output buffer; in a
/// batched pass, sample b's rows `sampleStride` further on each (`sample`).
///
/// A Jacobian row holds C × P floats (447 MB per sample for ResNet-18); building each
/// parameter's gradient as a tensor and copying it out would allocate, zero and copy that much
/// again per sample. Operators that can (`OperatorDefinition.sinkInputs`) write their
/// parameter gradients here directly; the interpreter copies any other operator's result in, and
/// zero-fills what no node reached.
public struct ParameterSink: @unchecked Sendable {
  let base: UnsafeMutablePointer<Float>
  let rowStride: Int
  let count: Int
  let sampleStride: Int

  public init(base: UnsafeMutablePointer<Float>, rowStride: Int, count: Int, sampleStride: Int = 0) {
    self.base = base
    self.rowStride = rowStride
    self.count = count
    self.sampleStride = sampleStride
  }

  /// The sink of sample `b` of a batch.
  func sample(_ b: Int) -> ParameterSink {
    ParameterSink(base: base + b * sampleStride, rowStride: rowStride, count: count, sampleStride: sampleStride)
  }

  /// Row `r`'s `count` floats.
  func row(_ r: Int) -> UnsafeMutablePointer<Float> { base + r * rowStride }

  /// Writes (or, with `accumulate`, adds) `rows` stacked rows of `count` floats from `source`.
  func store(_ source: UnsafePointer<Float>, rows: Int, accumulate: Bool) {
    for r in 0..<rows {
      let target = row(r)
      let from = source + r * count
      if accumulate {
        for j in 0..<count { target[j] += from[j] }
      } else {
        target.update(from: from, count: count)
      }
    }
  }

  /// Zero-fills `rows` rows.
  func clear(rows: Int) {
    for r in 0..<rows { row(r).update(repeating: 0, count: count) }
  }
}

/// A sink as an operator sees it for one input slot: whether an earlier node (a weight shared
/// by several nodes) already wrote it, so this one adds instead of overwriting.
struct SinkSlot {
  let sink: ParameterSink
  let accumulate: Bool
}
