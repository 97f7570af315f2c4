/// BatchNormalization (inference: running statistics) and LayerNormalization.
enum NormalizationOperators {
  /// y = scale·(x − mean)/√(var + ε) + B per channel (axis 1).
  ///
  /// The running statistics are differentiated too (an optimizing exporter may store a fresh
  /// layer's zero bias and zero mean as one initializer), but they never make an initializer
  /// a parameter by themselves.
  static let batchNormalization = OperatorDefinition(
    differentiableInputs: [0, 1, 2, 3, 4], statisticInputs: [3, 4],
    forward: { c in
      let (x, scale, bias, mean, invStd, channels, plane) = try batchNormInputs(c)
      var y = [Float](repeating: 0, count: x.count)
      for i in 0..<x.count {
        let ch = (i / plane) % channels
        y[i] = scale[ch] * (x[i] - mean[ch]) * invStd[ch] + bias[ch]
      }
      return [Tensor(shape: try c.input(0).shape, floats: y)]
    },
    backward: { c, _, gradients, needs in
      guard let g = try gradients[0]?.floats("gradient") else { return [nil, nil, nil, nil, nil] }
      let (x, scale, _, mean, invStd, channels, plane) = try batchNormInputs(c)
      var dx = [Float](repeating: 0, count: x.count)
      var dScale = [Float](repeating: 0, count: channels)
      var dBias = [Float](repeating: 0, count: channels)
      var dMean = [Float](repeating: 0, count: channels)
      var dVariance = [Float](repeating: 0, count: channels)
      for i in 0..<x.count {
        let ch = (i / plane) % channels
        dx[i] = g[i] * scale[ch] * invStd[ch]
        dScale[ch] += g[i] * (x[i] - mean[ch]) * invStd[ch]
        dBias[ch] += g[i]
        dMean[ch] -= g[i] * scale[ch] * invStd[ch]
        dVariance[ch] -= 0.5 * g[i] * scale[ch] * (x[i] - mean[ch]) * invStd[ch] * invStd[ch] * invStd[ch]
      }
      return try [dx, dScale, dBias, dMean, dVariance].enumerated().map { slot, values in
        needs[slot] ? Tensor(shape: try c.input(slot).shape, floats: values) : nil
      }
    })

  static func batchNormInputs(_ c: OperatorContext) throws -> ([Float], [Float], [Float], [Float], [Float], Int, Int) {
    let x = try c.input(0)
    guard try c.int("training_mode", default: 0) == 0 else {
      throw ONNXError.unsupported("BatchNormalization training_mode=1")
    }
    guard try c.int("spatial", default: 1) == 1 else { throw ONNXError.unsupported("BatchNormalization spatial=0") }
    guard x.rank >= 2 else { throw ONNXError.shapeMismatch("X \(x.shape) must have rank ≥ 2") }
    let channels = x.shape[1]
    let epsilon = try c.float("epsilon", default: 1e-5)
    var vectors: [[Float]] = []
    for slot in 1...4 {
      let v = try c.input(slot)
      guard v.count == channels else {
        throw ONNXError.shapeMismatch("input \(slot) has shape \(v.shape), expected [\(channels)]")
      }
      vectors.append(try v.floats("input \(slot)"))
    }
    let invStd = vectors[3].map { 1 / ($0 + epsilon).squareRoot() }
    return (
      try x.floats("X"), vectors[0], vectors[1], vectors[2], invStd, channels, x.count / max(x.shape[0] * channels, 1)
    )
  }

  /// Normalises over the trailing dimensions from `axis`: y = (x − μ)/σ · scale + B.
  ///
  /// The reverse pass carries every gradient row at once over statistics computed once.
  static let layerNormalization = OperatorDefinition(
    since: 17, differentiableInputs: [0, 1, 2],
    forward: { c in
      let s = try LayerNormState(c)
      let size = s.size
      let y = [Float](unsafeUninitializedCapacity: s.normalized.count) { y, written in
        s.normalized.withUnsafeBufferPointer { n in
          for row in 0..<s.rows {
            let (source, target) = (row * size, row * size)
            for j in 0..<size { y[target + j] = n[source + j] * s.scale[j] + s.bias[j] }
          }
        }
        written = s.normalized.count
      }
      let statsShape = Array(s.shape.prefix(s.axis)) + [Int](repeating: 1, count: s.shape.count - s.axis)
      return [
        Tensor(shape: s.shape, floats: y), Tensor(shape: statsShape, floats: s.mean),
        Tensor(shape: statsShape, floats: s.invStd),
      ]
    },
    stackedBackward: { c, _, gradients, needs, rows in
      try layerNormReverse(c, gradients, needs, rows: rows, samples: 1) ?? [nil, nil, nil]
    },
    batchedWeightsBackward: { c, _, gradients, needs, weights, rows, samples in
      // The scale and bias are the weights here; a sample-valued one takes the per-sample path.
      guard (1..<needs.count).allSatisfy({ !needs[$0] || weights[$0] }) else { return nil }
      return try layerNormReverse(c, gradients, needs, rows: rows, samples: samples)
    })

  /// LayerNormalization's reverse pass for `rows` stacked gradients, with the scale's and bias's
  /// gradients per sample ([samples · rows] + shape) when the `samples` lie one after another
  /// along axis 0; nil when the normalised rows do not split evenly between the samples.
  static func layerNormReverse(_ c: OperatorContext, _ gradients: [Tensor?], _ needs: [Bool], rows: Int, samples: Int)
    throws -> [Tensor?]?
  {
    guard let g = try gradients[0]?.floats("gradient") else { return [nil, nil, nil] }
    let s = try LayerNormState(c)
    let (size, count) = (s.size, s.normalized.count)
    guard g.count == rows * count else {
      throw ONNXError.shapeMismatch("\(rows) gradient rows of \(count) hold \(g.count) floats")
    }
    guard samples == 1 || (s.axis > 0 && s.rows % samples == 0) else { return nil }
    let rowsPerSample = s.rows / samples
    let hasBias = c.optionalInput(2) != nil
    var dx = [Float](repeating: 0, count: needs[0] ? rows * count : 0)
    // Gradients of the scale and bias as broadcast to the normalised shape, per sample and row.
    let weightRows = samples * rows
    var dScale = [Float](repeating: 0, count: needs[1] ? weightRows * size : 0)
    var dBias = [Float](repeating: 0, count: needs.count > 2 && needs[2] && hasBias ? weightRows * size : 0)
    g.withUnsafeBufferPointer { g in
      s.normalized.withUnsafeBufferPointer { n in
        guard let g = g.baseAddress, let n = n.baseAddress else { return }
        for r in 0..<rows {
          for row in 0..<s.rows {
            let (gr, nr) = (g + r * count + row * size, n + row * size)
            let weightRow = (row / rowsPerSample * rows + r) * size
            if !dScale.isEmpty {
              dScale.withUnsafeMutableBufferPointer { d in
                for j in 0..<size { d[weightRow + j] += gr[j] * nr[j] }
              }
            }
            if !dBias.isEmpty {
              dBias.withUnsafeMutableBufferPointer { d in
                for j in 0..<size { d[weightRow + j] += gr[j] }
              }
            }
            guard !dx.isEmpty else { continue }
            var meanD: Float = 0
            var meanDN: Float = 0
            for j in 0..<size {
              let d = gr[j] * s.scale[j]
              meanD += d
              meanDN += d * nr[j]
            }
            meanD /= Float(size)
            meanDN /= Float(size)
            let invStd = s.invStd[row]
            dx.withUnsafeMutableBufferPointer { dx in
              let target = r * count + row * size
              for j in 0..<size { dx[target + j] = invStd * (gr[j] * s.scale[j] - meanD - nr[j] * meanDN) }
            }
          }
        }
      }
    }
    /// Sums each row's broadcast gradient back to the operand's own shape.
    func reduced(_ d: [Float], slot: Int) throws -> Tensor {
      let operand = try c.input(slot)
      let map = IndexMap.broadcast(from: operand.shape, to: s.normalizedShape)
      guard map.count != operand.count else { return Tensor(shape: [weightRows] + operand.shape, floats: d) }
      var sums = [Float](repeating: 0, count: weightRows * operand.count)
      for r in 0..<weightRows {
        for j in 0..<size { sums[r * operand.count + map[j]] += d[r * size + j] }
      }
      return Tensor(shape: [weightRows] + operand.shape, floats: sums)
    }
    return [
      needs[0] ? Tensor(shape: [rows] + s.shape, floats: dx) : nil,
      needs[1] ? try reduced(dScale, slot: 1) : nil,
      dBias.isEmpty ? nil : try reduced(dBias, slot: 2),
    ]
  }

  /// The statistics of a LayerNormalization forward pass, with the scale and bias broadcast to
  /// the normalised shape.
  struct LayerNormState {
    var shape: [Int]
    var normalizedShape: [Int]
    var axis: Int
    var rows: Int, size: Int
    var scale: [Float], bias: [Float]
    var mean: [Float], invStd: [Float], normalized: [Float]

    init(_ c: OperatorContext) throws {
      let input = try c.input(0)
      shape = input.shape
      axis = try c.axis(c.int("axis", default: -1), rank: shape.count)
      let normalizedShape = Array(shape[axis...])
      let size = normalizedShape.reduce(1, *)
      let rows = input.count / max(size, 1)
      (self.normalizedShape, self.size, self.rows) = (normalizedShape, size, rows)
      let x = try input.floats("X")
      func broadcast(_ tensor: Tensor, _ name: String) throws -> [Float] {
        guard (try? IndexMap.broadcastShape(tensor.shape, normalizedShape)) == normalizedShape else {
          throw ONNXError.shapeMismatch("\(name) \(tensor.shape) does not broadcast to \(normalizedShape)")
        }
        let values = try tensor.floats(name)
        guard values.count != size else { return values }
        return IndexMap.broadcast(from: tensor.shape, to: normalizedShape).map { values[$0] }
      }
      scale = try broadcast(try c.input(1), "Scale")
      bias = try c.optionalInput(2).map { try broadcast($0, "B") } ?? [Float](repeating: 0, count: size)
      let epsilon = Double(try c.float("epsilon", default: 1e-5))
      var mean = [Float](repeating: 0, count: rows)
      var invStd = [Float](repeating: 0, count: rows)
      normalized = [Float](unsafeUninitializedCapacity: x.count) { normalized, written in
        x.withUnsafeBufferPointer { x in
          guard let x = x.baseAddress else { return }
          for row in 0..<rows {
            let source = x + row * size
            var sum: Double = 0
            for j in 0..<size { sum += Double(source[j]) }
            let mu = sum / Double(size)
            var variance: Double = 0
            for j in 0..<size { variance += (Double(source[j]) - mu) * (Double(source[j]) - mu) }
            let r = 1 / (variance / Double(size) + epsilon).squareRoot()
            mean[row] = Float(mu)
            invStd[row] = Float(r)
            for j in 0..<size { normalized[row * size + j] = Float((Double(source[j]) - mu) * r) }
          }
        }
        written = x.count
      }
      (self.mean, self.invStd) = (mean, invStd)
    }
  }

  /// InstanceNormalization: y = scale[c]·x̂ + B[c], x̂ each (sample, channel) plane normalised.
  ///
  /// PyTorch's GroupNorm and InstanceNorm export to it.
  static let instanceNormalization = OperatorDefinition(
    differentiableInputs: [0, 1, 2],
    forward: { c in
      let s = try InstanceNormState(c)
      var y = [Float](repeating: 0, count: s.normalized.count)
      for i in 0..<y.count {
        let ch = (i / s.plane) % s.channels
        y[i] = s.normalized[i] * s.scale[ch] + s.bias[ch]
      }
      return [Tensor(shape: s.shape, floats: y)]
    },
    backward: { c, _, gradients, needs in
      guard let g = try gradients[0]?.floats("gradient") else { return [nil, nil, nil] }
      let s = try InstanceNormState(c)
      var dx = [Float](repeating: 0, count: g.count)
      var dScale = [Float](repeating: 0, count: s.channels)
      var dBias = [Float](repeating: 0, count: s.channels)
      for row in 0..<(s.normalized.count / max(s.plane, 1)) {
        let ch = row % s.channels
        var meanD: Float = 0
        var meanDN: Float = 0
        for j in 0..<s.plane {
          let i = row * s.plane + j
          meanD += g[i] * s.scale[ch]
          meanDN += g[i] * s.scale[ch] * s.normalized[i]
          dScale[ch] += g[i] * s.normalized[i]
          dBias[ch] += g[i]
        }
        meanD /= Float(s.plane)
        meanDN /= Float(s.plane)
        for j in 0..<s.plane {
          let i = row * s.plane + j
          dx[i] = s.invStd[row] * (g[i] * s.scale[ch] - meanD - s.normalized[i] * meanDN)
        }
      }
      return [
        needs[0] ? Tensor(shape: s.shape, floats: dx) : nil,
        needs[1] ? Tensor(shape: [s.channels], floats: dScale) : nil,
        needs[2] ? Tensor(shape: [s.channels], floats: dBias) : nil,
      ]
    })

  /// The statistics of an InstanceNormalization forward pass.
  struct InstanceNormState {
    var shape: [Int]
    var channels: Int, plane: Int
    var scale: [Float], bias: [Float]
    var invStd: [Float], normalized: [Float]

    init(_ c: OperatorContext) throws {
      let input = try c.input(0)
      guard input.rank >= 3 else { throw ONNXError.shapeMismatch("input \(input.shape) must have rank ≥ 3") }
      shape = input.shape
      channels = shape[1]
      plane = shape[2...].reduce(1, *)
      scale = try c.floats(1)
      bias = try c.floats(2)
      guard scale.count == channels, bias.count == channels else {
        throw ONNXError.shapeMismatch("scale and B must have \(channels) elements")
      }
      let x = try input.floats("input")
      let epsilon = Double(try c.float("epsilon", default: 1e-5))
      let rows = x.count / max(plane, 1)
      invStd = [Float](repeating: 0, count: rows)
      normalized = [Float](repeating: 0, count: x.count)
      for row in 0..<rows {
        let values = x[(row * plane)..<((row + 1) * plane)].map(Double.init)
        let mean = values.reduce(0, +) / Double(plane)
        let variance = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(plane)
        let r = 1 / (variance + epsilon).squareRoot()
        invStd[row] = Float(r)
        for j in 0..<plane { normalized[row * plane + j] = Float((values[j] - mean) * r) }
      }
    }
  }

  static let all: [String: OperatorDefinition] = [
    "InstanceNormalization": instanceNormalization,
    "BatchNormalization": batchNormalization, "LayerNormalization": layerNormalization,
  ]
}
