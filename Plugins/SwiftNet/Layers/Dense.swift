import COpenBLAS

/// Fully connected layer: y = W x + b with W [out, in] (PyTorch's Linear layout).
///
/// Config: `out_features` (required), `in_features` (optional, checked), `bias` (default true).
struct Dense: Layer {
  let name: String
  let inputShape: [Int]
  let outputShape: [Int]
  let inFeatures: Int
  let outFeatures: Int
  let hasBias: Bool
  /// Offset of W in the parameter vector; b follows it.
  let offset: Int

  init(_ config: inout LayerConfig, inputShape: [Int], parameterOffset: Int) throws(SwiftNetError) {
    guard inputShape.count == 1 else {
      throw .invalidArchitecture(
        layer: config.name,
        reason:
          "dense needs a flat input [features], got shape \(inputShape) (add a flatten or globalavgpool layer before it)"
      )
    }
    name = config.name
    self.inputShape = inputShape
    inFeatures = inputShape[0]
    outFeatures = try config.int("out_features")
    if let declared = try config.optionalInt("in_features"), declared != inFeatures {
      throw .invalidArchitecture(
        layer: name, reason: "in_features is \(declared) but the previous layer produces \(inFeatures) features")
    }
    hasBias = try config.bool("bias", default: true)
    guard SizeLimit.product([outFeatures, inFeatures]) != nil else {
      throw .invalidArchitecture(
        layer: name, reason: "weight [\(outFeatures), \(inFeatures)] has more than \(SizeLimit.values) values")
    }
    outputShape = [outFeatures]
    offset = parameterOffset
  }

  var tensors: [TensorSlot] {
    var slots = [TensorSlot(suffix: "weight", shape: [outFeatures, inFeatures], offset: offset, isBuffer: false)]
    if hasBias {
      slots.append(
        TensorSlot(suffix: "bias", shape: [outFeatures], offset: offset + outFeatures * inFeatures, isBuffer: false))
    }
    return slots
  }

  /// One group, W then b, factored with a = [x; 1] (just x without a bias) and Δ = ∂f/∂y:
  /// π(o, j) = o·in + j for W [out, in] row-major, π(o, in) = out·in + o for b.
  var parameterGroups: [ParameterGroup] {
    let inputDim = inFeatures + (hasBias ? 1 : 0)
    return [
      ParameterGroup(
        name: name, offset: offset, count: inputDim * outFeatures,
        factor: GroupFactor(inputDim: inputDim, outputDim: outFeatures))
    ]
  }

  var config: [String: JSONValue] {
    [
      "type": .string("dense"), "name": .string(name), "in_features": .int(inFeatures),
      "out_features": .int(outFeatures), "bias": .bool(hasBias),
    ]
  }

  /// PyTorch's default: W and b uniform in ±1/√in_features.
  func initialize(_ weights: inout Weights, random: inout SeededRandom) {
    let bound = 1 / Float(inFeatures).squareRoot()
    for slot in tensors {
      for k in slot.offset..<slot.offset + slot.count { weights.parameters[k] = random.uniform(bound: bound) }
    }
  }

  func forward(_ input: [Float], count n: Int, weights: Weights, keep: Bool) -> (output: [Float], trace: LayerTrace) {
    var output = [Float](repeating: 0, count: n * outFeatures)
    input.withBase { x in
      weights.parameters.withBase { theta in
        output.withMutableBase { y in
          let w = theta + offset
          if hasBias {
            let b = w + outFeatures * inFeatures
            for i in 0..<n { (y + i * outFeatures).update(from: b, count: outFeatures) }
          }
          cblas_sgemm(
            CblasRowMajor, CblasNoTrans, CblasTrans, Int32(n), Int32(outFeatures), Int32(inFeatures), 1, x,
            Int32(inFeatures), w, Int32(inFeatures), hasBias ? 1 : 0, y, Int32(outFeatures))
        }
      }
    }
    return (output, keep ? LayerTrace(input: input) : LayerTrace())
  }

  func backward(
    _ outputGradient: [Float], rows m: Int, repeats: Int, trace: LayerTrace, weights: Weights,
    sink: GradientSink, needInput: Bool
  ) -> [Float] {
    let (o, k) = (Int32(outFeatures), Int32(inFeatures))
    outputGradient.withBase { dy in
      trace.input.withBase { x in
        if case .summed(let base) = sink, repeats == 1 {
          // Training: one GEMM sums the outer products over the batch.
          cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, o, k, Int32(m), 1, dy, o, x, k, 1, base + offset, k)
          if hasBias {
            let db = base + offset + outFeatures * inFeatures
            for r in 0..<m { cblas_saxpy(o, 1, dy + r * outFeatures, 1, db, 1) }
          }
          return
        }
        if case .factored(let base, let layout) = sink, let start = layout.factorStarts[offset] {
          // Each row's gradient is dy ⊗ [x; 1]: hand out the factors instead of forming it. A
          // sample's R = C rows of dy are already its Δ block, [c][o].
          let factorInput = inFeatures + (hasBias ? 1 : 0)
          for sample in 0..<m / repeats {
            let a = base + sample * layout.rowSize + start
            a.update(from: x + sample * inFeatures, count: inFeatures)
            if hasBias { a[inFeatures] = 1 }
            (a + factorInput).update(from: dy + sample * repeats * outFeatures, count: repeats * outFeatures)
          }
          return
        }
        for r in 0..<m {
          let row = sink.destination(row: r, offset: offset)
          let dyRow = dy + r * outFeatures
          // ∂L/∂W for one row is the outer product dy ⊗ x: a K = 1 GEMM.
          cblas_sgemm(
            CblasRowMajor, CblasNoTrans, CblasNoTrans, o, k, 1, 1, dyRow, 1, x + (r / repeats) * inFeatures, k,
            sink.beta, row, k)
          if hasBias {
            let db = row + outFeatures * inFeatures
            if sink.beta == 0 { db.update(from: dyRow, count: outFeatures) } else { cblas_saxpy(o, 1, dyRow, 1, db, 1) }
          }
        }
      }
    }
    guard needInput else { return [] }
    var inputGradient = [Float](repeating: 0, count: m * inFeatures)
    outputGradient.withBase { dy in
      weights.parameters.withBase { theta in
        inputGradient.withMutableBase { dx in
          cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(m), k, o, 1, dy, o, theta + offset, k, 0, dx, k)
        }
      }
    }
    return inputGradient
  }
}
