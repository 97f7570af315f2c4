import COpenBLAS

/// 2-D convolution (cross-correlation, as PyTorch's Conv2d) by im2col and one GEMM per group.
///
/// Weight [Cout, Cin/groups, kh, kw], bias [Cout]. Config: `out_channels`, `kernel_size` (required);
/// `in_channels` (optional, checked); `stride` (1), `padding` (0), `dilation` (1) — each an integer or [h,
/// w]; `groups` (1); `bias` (true).
struct Conv2d: Layer {
  let name: String
  let inputShape: [Int]
  let outputShape: [Int]
  let outChannels: Int
  let groups: Int
  let hasBias: Bool
  let geometry: ConvGeometry
  let offset: Int

  init(_ config: inout LayerConfig, inputShape: [Int], parameterOffset: Int) throws(SwiftNetError) {
    name = config.name
    guard inputShape.count == 3 else {
      throw .invalidArchitecture(
        layer: name, reason: "conv2d needs an input [channels, height, width], got shape \(inputShape)")
    }
    self.inputShape = inputShape
    outChannels = try config.int("out_channels")
    if let declared = try config.optionalInt("in_channels"), declared != inputShape[0] {
      throw .invalidArchitecture(
        layer: name, reason: "in_channels is \(declared) but the input has \(inputShape[0]) channels")
    }
    let kernel = try config.pair("kernel_size")
    let stride = try config.pair("stride", default: (1, 1))
    let padding = try config.pair("padding", default: (0, 0), minimum: 0)
    let dilation = try config.pair("dilation", default: (1, 1))
    groups = try config.int("groups", default: 1)
    hasBias = try config.bool("bias", default: true)
    guard inputShape[0] % groups == 0, outChannels % groups == 0 else {
      throw .invalidArchitecture(
        layer: name,
        reason: "groups = \(groups) must divide in_channels = \(inputShape[0]) and out_channels = \(outChannels)")
    }
    geometry = ConvGeometry(
      channels: inputShape[0], height: inputShape[1], width: inputShape[2], kernelH: kernel.0, kernelW: kernel.1,
      strideH: stride.0, strideW: stride.1, paddingH: padding.0, paddingW: padding.1, dilationH: dilation.0,
      dilationW: dilation.1)
    guard geometry.isValid else {
      throw .invalidArchitecture(
        layer: name,
        reason: "kernel \(kernel) with dilation \(dilation) does not fit the input \(inputShape) padded by \(padding)")
    }
    let (oh, ow) = (geometry.outputH, geometry.outputW)
    guard SizeLimit.product([outChannels, oh, ow]) != nil,
      SizeLimit.product([inputShape[0], kernel.0, kernel.1, oh, ow]) != nil,
      SizeLimit.product([outChannels, inputShape[0] / groups, kernel.0, kernel.1]) != nil
    else {
      throw .invalidArchitecture(
        layer: name, reason: "output, im2col columns or weight would have more than \(SizeLimit.values) values")
    }
    outputShape = [outChannels, geometry.outputH, geometry.outputW]
    offset = parameterOffset
  }

  /// Rows of one group's weight matrix and columns of its im2col block.
  private var groupOut: Int { outChannels / groups }
  private var groupK: Int { geometry.columnRows / groups }
  private var weightCount: Int { outChannels * groupK }

  var tensors: [TensorSlot] {
    var slots = [
      TensorSlot(
        suffix: "weight", shape: [outChannels, geometry.channels / groups, geometry.kernelH, geometry.kernelW],
        offset: offset, isBuffer: false)
    ]
    if hasBias {
      slots.append(TensorSlot(suffix: "bias", shape: [outChannels], offset: offset + weightCount, isBuffer: false))
    }
    return slots
  }

  /// A kernel applied at every output position sums outer products, one per position r.
  ///
  /// With one group, Σ_r Δ_r ⊗ [patch_r; 1] (Δ_r = ∂f/∂y[:, r], patch_r = im2col column r, zeros over the
  /// padding; the bias's a is 1 at every position), π(o, j) = o·K + j for the weight [Cout, K]
  /// row-major, K = Cin·kh·kw in (channel, kh, kw) order, and π(o, K) = Cout·K + o for the bias.
  /// A grouped convolution's output channels each see only their group's patch: plain.
  var parameterGroups: [ParameterGroup] {
    let positions = geometry.columnCount
    guard groups == 1 else {
      return ownParameterGroups(
        plainReason: "conv2d applies it at \(positions) positions in \(groups) groups (only one group factors)")
    }
    return ownParameterGroups(plainReason: "conv2d applies it at \(positions) positions").map { group in
      var factored = group
      factored.factor = GroupFactor(inputDim: groupK + (hasBias ? 1 : 0), outputDim: outChannels, terms: positions)
      // One position is one outer product, which every caller reads.
      if positions == 1 { factored.plainReason = nil }
      return factored
    }
  }

  var config: [String: JSONValue] {
    let g = geometry
    return [
      "type": .string("conv2d"), "name": .string(name), "in_channels": .int(g.channels),
      "out_channels": .int(outChannels),
      "kernel_size": .array([.int(g.kernelH), .int(g.kernelW)]), "stride": .array([.int(g.strideH), .int(g.strideW)]),
      "padding": .array([.int(g.paddingH), .int(g.paddingW)]),
      "dilation": .array([.int(g.dilationH), .int(g.dilationW)]),
      "groups": .int(groups), "bias": .bool(hasBias),
    ]
  }

  /// PyTorch's default: uniform in ±1/√fan_in, fan_in = (Cin/groups)·kh·kw.
  func initialize(_ weights: inout Weights, random: inout SeededRandom) {
    let bound = 1 / Float(groupK).squareRoot()
    for slot in tensors {
      for k in slot.offset..<slot.offset + slot.count { weights.parameters[k] = random.uniform(bound: bound) }
    }
  }

  func forward(_ input: [Float], count n: Int, weights: Weights, keep: Bool) -> (output: [Float], trace: LayerTrace) {
    let (rows, cols) = (geometry.columnRows, geometry.columnCount)
    var columns = [Float](repeating: 0, count: (keep ? n : 1) * rows * cols)
    var output = [Float](repeating: 0, count: n * outputSize)
    input.withBase { x in
      weights.parameters.withBase { theta in
        columns.withMutableBase { allColumns in
          output.withMutableBase { y in
            for i in 0..<n {
              let col = allColumns + (keep ? i * rows * cols : 0)
              geometry.im2col(x + i * inputSize, col)
              let out = y + i * outputSize
              if hasBias {
                for c in 0..<outChannels {
                  (out + c * cols).update(repeating: theta[offset + weightCount + c], count: cols)
                }
              }
              for g in 0..<groups {
                cblas_sgemm(
                  CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(groupOut), Int32(cols), Int32(groupK), 1,
                  theta + offset + g * groupOut * groupK, Int32(groupK), col + g * groupK * cols, Int32(cols),
                  hasBias ? 1 : 0, out + g * groupOut * cols, Int32(cols))
              }
            }
          }
        }
      }
    }
    return (output, keep ? LayerTrace(columns: columns) : LayerTrace())
  }

  func backward(
    _ outputGradient: [Float], rows m: Int, repeats: Int, trace: LayerTrace, weights: Weights,
    sink: GradientSink, needInput: Bool
  ) -> [Float] {
    let (rows, cols) = (geometry.columnRows, geometry.columnCount)
    var inputGradient = [Float](repeating: 0, count: needInput ? m * inputSize : 0)
    var columnGradient = [Float](repeating: 0, count: needInput ? rows * cols : 0)
    // A sink that takes this group as a sum of terms gets its factors instead of its gradients.
    var factorRows: (first: UnsafeMutablePointer<Float>, size: Int)?
    if case .factored(let base, let layout) = sink, let start = layout.factorStarts[offset] {
      factorRows = (base + start, layout.rowSize)
    }
    // With one group, a sample's R cotangent rows are one [(R·Cout) × L] matrix, so their weight
    // gradients come from a single GEMM instead of R small ones (the Jacobian's hot path).
    let stackRows = factorRows == nil && groups == 1 && repeats > 1 && sink.beta == 0
    var stacked = [Float](repeating: 0, count: stackRows ? repeats * weightCount : 0)
    outputGradient.withBase { dy in
      trace.columns.withBase { allColumns in
        if let factorRows {
          writeFactors(
            dy, rows: m, repeats: repeats, columns: allColumns, into: factorRows.first, rowSize: factorRows.size)
        }
        weights.parameters.withBase { theta in
          for r in 0..<m {
            let dyRow = dy + r * outputSize
            let col = allColumns + (r / repeats) * rows * cols
            if factorRows == nil {
              let destination = sink.destination(row: r, offset: offset)
              if stackRows {
                stacked.withMutableBase { all in
                  if r % repeats == 0 {
                    cblas_sgemm(
                      CblasRowMajor, CblasNoTrans, CblasTrans, Int32(repeats * outChannels), Int32(groupK), Int32(cols),
                      1,
                      dyRow, Int32(cols), col, Int32(cols), 0, all, Int32(groupK))
                  }
                  destination.update(from: all + (r % repeats) * weightCount, count: weightCount)
                }
              } else {
                for g in 0..<groups {
                  // ∂L/∂W_g = dy_g · col_gᵀ for this row's sample.
                  cblas_sgemm(
                    CblasRowMajor, CblasNoTrans, CblasTrans, Int32(groupOut), Int32(groupK), Int32(cols), 1,
                    dyRow + g * groupOut * cols, Int32(cols), col + g * groupK * cols, Int32(cols), sink.beta,
                    destination + g * groupOut * groupK, Int32(groupK))
                }
              }
              if hasBias {
                let db = destination + weightCount
                for c in 0..<outChannels {
                  var sum: Float = 0
                  let channel = dyRow + c * cols
                  for k in 0..<cols { sum += channel[k] }
                  db[c] = sink.beta == 0 ? sum : db[c] + sum
                }
              }
            }
            guard needInput else { continue }
            columnGradient.withMutableBase { dcol in
              for g in 0..<groups {
                cblas_sgemm(
                  CblasRowMajor, CblasTrans, CblasNoTrans, Int32(groupK), Int32(cols), Int32(groupOut), 1,
                  theta + offset + g * groupOut * groupK, Int32(groupK), dyRow + g * groupOut * cols, Int32(cols), 0,
                  dcol + g * groupK * cols, Int32(cols))
              }
              inputGradient.withMutableBase { dx in geometry.col2im(dcol, dx + r * inputSize) }
            }
          }
        }
      }
    }
    return inputGradient
  }

  /// Writes each sample's factors into its row (`rowSize` floats apart, from `a`).
  ///
  /// First the a's, rows [r][j] = [patch_r; 1] (the sample's im2col columns transposed), then
  /// its `repeats` cotangent rows' Δ, [c][r][o] (each row's [o][r] gradient transposed). One
  /// group only.
  private func writeFactors(
    _ dy: UnsafePointer<Float>, rows m: Int, repeats: Int, columns: UnsafePointer<Float>,
    into a: UnsafeMutablePointer<Float>, rowSize: Int
  ) {
    let (k, positions) = (geometry.columnRows, geometry.columnCount)
    let inputDim = k + (hasBias ? 1 : 0)
    for sample in 0..<m / repeats {
      let inputs = a + sample * rowSize
      let col = columns + sample * k * positions
      for j in 0..<k { cblas_scopy(Int32(positions), col + j * positions, 1, inputs + j, Int32(inputDim)) }
      if hasBias {
        for r in 0..<positions { inputs[r * inputDim + k] = 1 }
      }
      let deltas = inputs + positions * inputDim
      for c in 0..<repeats {
        let dyRow = dy + (sample * repeats + c) * outputSize
        for o in 0..<outChannels {
          cblas_scopy(
            Int32(positions), dyRow + o * positions, 1, deltas + c * positions * outChannels + o, Int32(outChannels))
        }
      }
    }
  }
}
