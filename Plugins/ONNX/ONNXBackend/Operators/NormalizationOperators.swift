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
  static let layerNormalization = OperatorDefinition(
    since: 17, differentiableInputs: [0, 1, 2],
    forward: { c in
      let s = try LayerNormState(c)
      var y = [Float](repeating: 0, count: s.x.count)
      for i in 0..<s.x.count {
        y[i] = s.normalized[i] * s.scale[s.scaleMap[i % s.size]] + (s.bias.map { $0[s.biasMap[i % s.size]] } ?? 0)
      }
      let statsShape = Array(s.shape.prefix(s.axis)) + [Int](repeating: 1, count: s.shape.count - s.axis)
      return [
        Tensor(shape: s.shape, floats: y), Tensor(shape: statsShape, floats: s.mean),
        Tensor(shape: statsShape, floats: s.invStd),
      ]
    },
    backward: { c, _, gradients, needs in
      guard let g = try gradients[0]?.floats("gradient") else { return [nil, nil, nil] }
      let s = try LayerNormState(c)
      var dx = [Float](repeating: 0, count: s.x.count)
      var dScale = [Float](repeating: 0, count: s.scale.count)
      var dBias = [Float](repeating: 0, count: s.bias?.count ?? 0)
      for row in 0..<s.rows {
        var meanD: Float = 0
        var meanDN: Float = 0
        for j in 0..<s.size {
          let i = row * s.size + j
          let d = g[i] * s.scale[s.scaleMap[j]]
          meanD += d
          meanDN += d * s.normalized[i]
          dScale[s.scaleMap[j]] += g[i] * s.normalized[i]
          if s.bias != nil { dBias[s.biasMap[j]] += g[i] }
        }
        meanD /= Float(s.size)
        meanDN /= Float(s.size)
        for j in 0..<s.size {
          let i = row * s.size + j
          dx[i] = s.invStd[row] * (g[i] * s.scale[s.scaleMap[j]] - meanD - s.normalized[i] * meanDN)
        }
      }
      return [
        needs[0] ? Tensor(shape: s.shape, floats: dx) : nil,
        needs[1] ? Tensor(shape: try c.input(1).shape, floats: dScale) : nil,
        needs.count > 2 && needs[2] && s.bias != nil ? Tensor(shape: try c.input(2).shape, floats: dBias) : nil,
      ]
    })

  /// The statistics of a LayerNormalization forward pass.
  struct LayerNormState {
    var shape: [Int]
    var axis: Int
    var rows: Int, size: Int
    var x: [Float], scale: [Float], bias: [Float]?
    var scaleMap: [Int], biasMap: [Int]
    var mean: [Float], invStd: [Float], normalized: [Float]

    init(_ c: OperatorContext) throws {
      let input = try c.input(0)
      shape = input.shape
      axis = try c.axis(c.int("axis", default: -1), rank: shape.count)
      let normalizedShape = Array(shape[axis...])
      size = normalizedShape.reduce(1, *)
      rows = input.count / max(size, 1)
      x = try input.floats("X")
      let scaleTensor = try c.input(1)
      guard (try? IndexMap.broadcastShape(scaleTensor.shape, normalizedShape)) == normalizedShape else {
        throw ONNXError.shapeMismatch("Scale \(scaleTensor.shape) does not broadcast to \(normalizedShape)")
      }
      scale = try scaleTensor.floats("Scale")
      scaleMap = IndexMap.broadcast(from: scaleTensor.shape, to: normalizedShape)
      if let b = c.optionalInput(2) {
        guard (try? IndexMap.broadcastShape(b.shape, normalizedShape)) == normalizedShape else {
          throw ONNXError.shapeMismatch("B \(b.shape) does not broadcast to \(normalizedShape)")
        }
        bias = try b.floats("B")
        biasMap = IndexMap.broadcast(from: b.shape, to: normalizedShape)
      } else {
        bias = nil
        biasMap = []
      }
      let epsilon = try c.float("epsilon", default: 1e-5)
      mean = [Float](repeating: 0, count: rows)
      invStd = [Float](repeating: 0, count: rows)
      normalized = [Float](repeating: 0, count: x.count)
      for row in 0..<rows {
        var sum: Double = 0
        for j in 0..<size { sum += Double(x[row * size + j]) }
        let mu = sum / Double(size)
        var variance: Double = 0
        for j in 0..<size { variance += (Double(x[row * size + j]) - mu) * (Double(x[row * size + j]) - mu) }
        variance /= Double(size)
        let r = 1 / (variance + Double(epsilon)).squareRoot()
        mean[row] = Float(mu)
        invStd[row] = Float(r)
        for j in 0..<size { normalized[row * size + j] = Float((Double(x[row * size + j]) - mu) * r) }
      }
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
