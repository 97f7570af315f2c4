import BackendLoader
import COpenBLAS
import Dispatch
import Foundation

/// Computes the per-sample features of a kernel kind (see `KernelKind`) for blocks of samples,
/// streaming them from the backend in batches; the projected kinds project each batch's gradients
/// (`GradientProjector`) before computing the next.
///
/// Feature buffers are float32, row-major, one row of `featureLength` floats per sample; for the
/// Jacobian kinds a row is J(x) in the backend's [c][p] order (C × P), or with `factors` a
/// `factored_jacobian` row (`trntk`, `layers`; see `FactorLayout`) or its C class rows (`entk`; see
/// `ClassRowLayout`). With several models (one per thread, since calls on one model must not
/// overlap) each batch is split between them.
public final class FeatureProducer {
  public let kind: KernelKind
  public let description: ModelDescription
  public let projection: CounterProjection?
  /// The per-layer projection, for the projected kinds with `--proj-kind factored`.
  let factoredProjection: FactoredProjection?
  /// Set when rows come from the backend's `factored_jacobian` (`trntk`, `layers` and `entk`).
  public let factors: FactorLayout?
  /// Samples per backend call (split further between models).
  public let batchSize: Int
  /// `trntk` one class at a time: a feature row is g_c(x) (P floats) for the class given to
  /// `features(of:samples:into:classSlice:)`, from `vjp` with the cotangent e_c.
  public let classSliced: Bool
  /// Samples each sample meets in the Gram, which decides the sums made whole (`SumExpansion`).
  public let pairedSamples: Int
  /// The sums turned into whole columns in the feature rows, when any (`SumExpansion`).
  private let expansion: SumExpansion?
  private let workers: [ModelWorker]

  /// - Parameters:
  ///   - models: one or more models of the same backend and file (one per thread).
  ///   - projection: for the projected kinds, k × P; or `factoredProjection` instead.
  ///   - factors: the models' `factorLayout`, to compute `trntk`, `layers` or `entk` from factored rows.
  ///   - classSliced: compute `trntk` one class at a time (no factors).
  ///   - pairedSamples: the kernel's column samples (`SumExpansion`).
  init(
    kind: KernelKind, models: [BackendModel], projection: CounterProjection?,
    factoredProjection: FactoredProjection? = nil, factors: FactorLayout? = nil, classSliced: Bool = false,
    batchSize: Int, pairedSamples: Int = SumExpansion.referenceSamples
  ) {
    precondition(!models.isEmpty && batchSize >= 1)
    precondition(kind.isProjected == (projection != nil || factoredProjection != nil))
    self.factoredProjection = factoredProjection
    precondition(factors == nil || (kind.factorable && factors == models[0].factorLayout))
    precondition(!classSliced || (kind == .trntk && factors == nil))
    self.classSliced = classSliced
    self.kind = kind
    self.description = models[0].description
    self.projection = projection
    self.factors = factors
    self.pairedSamples = pairedSamples
    expansion = SumExpansion.rewriting(kind: kind, factors: factors, pairedSamples: pairedSamples)
    self.batchSize = batchSize
    self.workers = models.map(ModelWorker.init)
  }

  /// Models working in parallel.
  public var threads: Int { workers.count }

  /// Floats per sample in a feature row.
  public var featureLength: Int {
    classSliced
      ? description.numParams
      : Self.featureLength(
        kind: kind, description: description, projectionDim: projection?.rows ?? factoredProjection?.split.k ?? 0,
        factors: factors, pairedSamples: pairedSamples)
  }

  static func featureLength(
    kind: KernelKind, description d: ModelDescription, projectionDim k: Int, factors: FactorLayout?, pairedSamples: Int
  )
    -> Int
  {
    if let layout = gramLayout(kind: kind, factors: factors, pairedSamples: pairedSamples)?.factors {
      return kind == .entk ? d.numOutputs * ClassRowLayout(layout).width : layout.rowLength
    }
    switch kind {
    case .entk, .trntk, .layers: return d.numOutputs * d.numParams
    case .pntk: return d.numParams
    case .projTrntk: return d.numOutputs * k
    case .projPntk: return k
    case .em: return d.embeddingSize
    }
  }

  /// Most samples a backend call computes when sums are written whole (`SumExpansion`): the
  /// backend's rows wait in scratch until rewritten, and a BERT's rows of token sums are larger
  /// than its features (1.8 M floats a sample for BERT-small's trntk).
  static let expandedBatch = 8

  /// Floats of scratch the producer allocates per batch of at most `batchSize` samples, beyond the
  /// feature buffer it fills: for the projected kinds the batch's gradients and the projection's
  /// scratch (`GradientProjector`).
  static func scratchFloats(
    kind: KernelKind, description d: ModelDescription, projection: CounterProjection?,
    factoredSplit: FactoredProjection.Split? = nil, factors: FactorLayout?, batchSize: Int, pairedSamples: Int
  ) -> Int {
    switch kind {
    case .projTrntk, .projPntk:
      if let factoredSplit {
        return batchSize * factoredSplit.rowLength + factoredSplit.scratchFloats(batchSize: batchSize)
      }
      guard let projection else { return 0 }
      let rows = kind == .projTrntk ? d.numOutputs : 1
      return batchSize * rows * d.numParams
        + GradientProjector.scratchFloats(projection: projection, rowsPerSample: rows, batchSize: batchSize)
    case .em: return batchSize * d.numOutputs
    case .entk:
      // The backend's rows, and with expanded sums each sample's expanded row before it becomes
      // class rows.
      guard let factors else { return 0 }
      guard let expansion = SumExpansion.rewriting(kind: kind, factors: factors, pairedSamples: pairedSamples) else {
        return factors.rowLength * batchSize
      }
      return (expansion.source.rowLength + expansion.target.rowLength) * min(batchSize, expandedBatch)
    default:
      // The backend's rows, before the expansion rewrites them into the features.
      let expansion = SumExpansion.rewriting(kind: kind, factors: factors, pairedSamples: pairedSamples)
      return (expansion?.source.rowLength ?? 0) * min(batchSize, expandedBatch)
    }
  }

  /// Fills `features` (float32, `samples.count` × `featureLength`, row-major) for `samples` of `set`.
  ///
  /// - Parameter classSlice: with `classSliced`, the class c whose gradients g_c to compute.
  /// Throws `KernelError.nonFiniteFeatures` naming the first sample whose features are not finite.
  public func features(
    of set: SampleSet, samples: Range<Int>, into features: UnsafeMutablePointer<Float>, classSlice: Int? = nil
  ) throws {
    precondition(classSliced == (classSlice != nil))
    let length = featureLength
    let d = description
    let batch = min(batchSize, samples.count, expansion == nil ? .max : Self.expandedBatch)
    let scratch = try FloatBuffer.checked(
      count: Self.scratchFloats(
        kind: kind, description: d, projection: projection, factoredSplit: factoredProjection?.split, factors: factors,
        batchSize: batch, pairedSamples: pairedSamples),
      purpose: "a batch's gradients and scratch")
    let classRows = kind == .entk ? (expansion?.target ?? factors).map(ClassRowLayout.init) : nil
    let rowsPerSample = kind == .projTrntk ? d.numOutputs : 1
    let projector = projection.map { GradientProjector(projection: $0, rowsPerSample: rowsPerSample, threads: threads) }
    let work = scratch.pointer
    var start = samples.lowerBound
    while start < samples.upperBound {
      var end = min(samples.upperBound, start + batch)
      // A projected batch ends on a projection block boundary where it can, so whole blocks are
      // projected once and only the range's first and last blocks hold rows outside it.
      if let projector {
        let blockEnd = end / projector.blockSamples * projector.blockSamples
        if end < samples.upperBound && blockEnd > start { end = blockEnd }
      }
      let count = end - start
      let out = features + (start - samples.lowerBound) * length
      let batchInputs = set.batch(start..<end)
      switch kind {
      case .entk:
        if let classRows, let expansion {
          // The backend's rows, then each sample's expanded row (after the batch's rows), then
          // its class rows.
          let (stride, expanded) = (expansion.source.rowLength, expansion.target.rowLength)
          let rows = UnsafeSendable(work + batch * stride)
          try runSplit(
            batchInputs, output: work, outputStride: stride, call: .factoredJacobian,
            rewrite: RowRewrite(target: out, stride: length) { i, row, out in
              let middle = rows.value + i * expanded
              expansion.rewrite(row, into: middle)
              classRows.rearrange(middle, into: out)
            })
        } else if let classRows {
          let stride = classRows.factors.rowLength
          try runSplit(
            batchInputs, output: work, outputStride: stride, call: .factoredJacobian,
            rewrite: RowRewrite(target: out, stride: length) { classRows.rearrange($1, into: $2) })
        } else {
          try runSplit(
            batchInputs, output: out, outputStride: length,
            call: .jacobian)
        }
      case .trntk where classSlice != nil:
        try runSplit(
          batchInputs, output: out, outputStride: length,
          call: .classGradient(classSlice ?? 0))
      case .trntk, .layers, .pntk:
        // With factors, the backend's factored rows; for pntk its factored vjp: the plain
        // gradients and each factored group's a's and Σ_c Δ_c/√C, one reverse pass as vjp, an
        // embedding table as L rows.
        let call: Call =
          kind == .pntk
          ? (factors == nil ? .summedGradient : .factoredVJP) : (factors == nil ? .jacobian : .factoredJacobian)
        if let expansion {
          let stride = expansion.source.rowLength
          try runSplit(
            batchInputs, output: work, outputStride: stride, call: call,
            rewrite: RowRewrite(target: out, stride: length) { expansion.rewrite($1, into: $2) })
        } else {
          try runSplit(batchInputs, output: out, outputStride: length, call: call)
        }
      case .em:
        try runSplit(
          batchInputs, output: out, outputStride: length,
          call: .embedding(logits: work))
      case .projTrntk, .projPntk:
        if let factoredProjection {
          // The batch's factored rows (or plain gradients for a model without factors), projected
          // group by group.
          let split = factoredProjection.split
          let call: Call =
            kind == .projTrntk
            ? (split.factoredRows ? .factoredJacobian : .jacobian)
            : (split.factoredRows ? .factoredVJP : .summedGradient)
          try runSplit(batchInputs, output: work, outputStride: split.rowLength, call: call)
          factoredProjection.project(
            rows: work, count: count, into: out, scratch: work + count * split.rowLength)
          break
        }
        // The batch's gradients, projected before the next batch is computed.
        let stride = rowsPerSample * d.numParams
        try runSplit(
          batchInputs, output: work, outputStride: stride,
          call: kind == .projTrntk ? .jacobian : .summedGradient)
        projector?.project(
          gradients: work, count: count, firstSample: start, setCount: set.count, into: out,
          scratch: work + count * stride)
      }
      try checkFinite(out, count: count, length: length, firstSample: start, set: set)
      start = end
    }
  }

  /// The layout of the feature rows `GramTile` multiplies and the summed groups it makes whole:
  /// `factors`, or for `pntk` its rows of summed classes, with the sums `SumExpansion` writes
  /// whole turned into columns.
  static func gramLayout(kind: KernelKind, factors: FactorLayout?, pairedSamples: Int) -> (
    factors: FactorLayout, expandedGroups: Set<Int>
  )? {
    guard let factors else { return nil }
    if let expansion = SumExpansion.of(kind: kind, factors: factors, pairedSamples: pairedSamples) {
      return (expansion.target, expansion.expandedInGram)
    }
    return (kind == .pntk ? factors.collapsingClasses() : factors, [])
  }

  /// The backend call for a batch; the logits scratch pointer is split between tasks by sample.
  private enum Call: @unchecked Sendable {
    case jacobian
    case factoredJacobian
    case summedGradient
    /// `summedGradient` in the factored layout with the classes contracted.
    case factoredVJP
    /// g_c: `vjp` with the cotangent e_c.
    case classGradient(Int)
    case embedding(logits: UnsafeMutablePointer<Float>)
  }

  /// Where the backend's rows go after a call: each sample's row rewritten into its feature row
  /// by the thread that computed it, so the rewriting (sgemm, first touch of the features) runs
  /// on every core and overlaps the other threads' backend calls.
  private struct RowRewrite: @unchecked Sendable {
    let target: UnsafeMutablePointer<Float>
    /// Floats between consecutive samples' feature rows.
    let stride: Int
    /// Sample i of the batch: its backend row into its feature row.
    let body: (Int, UnsafePointer<Float>, UnsafeMutablePointer<Float>) -> Void
  }

  /// Splits `count` samples between the models and runs `call` on each part concurrently, each
  /// part's rows then rewritten by `rewrite` when given.
  private func runSplit(
    _ batch: InputBatch, output: UnsafeMutablePointer<Float>, outputStride: Int, call: Call,
    rewrite: RowRewrite? = nil
  ) throws {
    let count = batch.count
    let parts = min(workers.count, count)
    let d = description
    let errors = ErrorBox()
    let pointers = UnsafeSendable(output)
    let body: @Sendable (Int) -> Void = { [workers] part in
      let lower = count * part / parts
      let upper = count * (part + 1) / parts
      let n = upper - lower
      let output = pointers.value
      let model = workers[part].model
      let input = batch.samples(lower..<upper)
      let out = UnsafeMutableBufferPointer(start: output + lower * outputStride, count: n * outputStride)
      do {
        switch call {
        case .jacobian:
          try model.jacobian(input, jacobians: out)
        case .factoredJacobian:
          try model.factoredJacobian(input, rows: out)
        case .summedGradient, .factoredVJP:
          let cotangents = [Float](repeating: 1 / Float(d.numOutputs).squareRoot(), count: n * d.numOutputs)
          try cotangents.withUnsafeBufferPointer {
            if case .factoredVJP = call {
              try model.factoredVJP(input, cotangents: $0, rows: out)
            } else {
              try model.vjp(input, cotangents: $0, gradients: out)
            }
          }
        case .classGradient(let c):
          var cotangents = [Float](repeating: 0, count: n * d.numOutputs)
          for i in 0..<n { cotangents[i * d.numOutputs + c] = 1 }
          try cotangents.withUnsafeBufferPointer {
            try model.vjp(input, cotangents: $0, gradients: out)
          }
        case .embedding(let logits):
          let logitBuffer = UnsafeMutableBufferPointer(start: logits + lower * d.numOutputs, count: n * d.numOutputs)
          try model.forward(input, logits: logitBuffer, embedding: out)
        }
        if let rewrite {
          for i in lower..<upper { rewrite.body(i, output + i * outputStride, rewrite.target + i * rewrite.stride) }
        }
      } catch {
        errors.record(error)
      }
    }
    if parts == 1 {
      body(0)
    } else {
      DispatchQueue.concurrentPerform(iterations: parts, execute: body)
    }
    if let error = errors.first { throw error }
  }

  private func checkFinite(
    _ rows: UnsafeMutablePointer<Float>, count: Int, length: Int, firstSample: Int, set: SampleSet
  ) throws {
    for i in 0..<count where !cblas_sasum(Int32(length), rows + i * length, 1).isFinite {
      // sasum is NaN/Inf exactly when an element is (barring a finite overflow, which we also reject).
      let what: String
      switch kind.source {
      case .jacobian:
        what =
          kind.isProjected
          ? "projected Jacobian" : classSliced ? "class gradient" : factors == nil ? "Jacobian" : "factored Jacobian"
      case .summedGradient: what = kind.isProjected ? "projected summed gradient" : "summed gradient"
      case .embedding: what = "embedding"
      }
      throw KernelError.nonFiniteFeatures(what: what, dataset: set.name, sample: firstSample + i)
    }
  }
}

/// One model, used by one thread at a time (the ABI forbids overlapping calls on a model).
private final class ModelWorker: @unchecked Sendable {
  let model: BackendModel
  init(_ model: BackendModel) { self.model = model }
}

/// Carries raw pointers into `concurrentPerform`; each task touches a disjoint range of them.
struct UnsafeSendable<Value>: @unchecked Sendable {
  let value: Value
  init(_ value: Value) { self.value = value }
}

/// The first error thrown by any of several concurrent tasks.
private final class ErrorBox: @unchecked Sendable {
  private let lock = NSLock()
  private var error: Error?
  func record(_ error: Error) {
    lock.lock()
    if self.error == nil { self.error = error }
    lock.unlock()
  }
  var first: Error? {
    lock.lock()
    defer { lock.unlock() }
    return error
  }
}
