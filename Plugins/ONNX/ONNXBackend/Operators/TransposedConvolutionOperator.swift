/// ConvTranspose (the adjoint of Conv with respect to its input) on any number of spatial
/// dimensions, with strides, dilations, groups, pads, output_padding, output_shape, auto_pad.
///
/// It is computed through the Conv that maps the output Y back to the input X: one sgemm
/// per sample and group (Wᵀ X) and a col2im scatter into Y; the reverse pass is the im2col of
/// dY followed by sgemms.
enum TransposedConvolutionOperator {
  struct Geometry {
    /// The Conv window from Y (its input side) to X (its output side).
    var window: SpatialWindow
    var batch: Int, channels: Int, outChannels: Int, groups: Int
    var outputShape: [Int]
    var channelsPerGroup: Int { channels / groups }
    var outPerGroup: Int { outChannels / groups }
    var xPlane: Int { window.outputPlane }
    var yPlane: Int { window.inputPlane }
  }

  static func geometry(_ c: OperatorContext) throws -> Geometry {
    let x = try c.input(0)
    let w = try c.input(1)
    guard w.rank == x.rank, x.rank >= 3 else {
      throw ONNXError.shapeMismatch("X \(x.shape) and W \(w.shape) must have equal rank ≥ 3")
    }
    let spatial = x.rank - 2
    let groups = try c.int("group", default: 1)
    let channels = x.shape[1]
    guard groups > 0, channels % groups == 0, w.shape[0] == channels else {
      throw ONNXError.shapeMismatch("X \(x.shape), W \(w.shape) and group \(groups) are inconsistent")
    }
    let kernel = try c.ints("kernel_shape") ?? Array(w.shape.dropFirst(2))
    guard kernel == Array(w.shape.dropFirst(2)) else {
      throw ONNXError.shapeMismatch("kernel_shape \(kernel) differs from W \(w.shape)")
    }
    func list(_ name: String, _ fallback: Int) throws -> [Int] {
      let values = try c.ints(name) ?? [Int](repeating: fallback, count: spatial)
      guard values.count == spatial, values.allSatisfy({ $0 >= 0 && $0 <= SpatialWindow.limit }) else {
        throw ONNXError.invalidModel("\(name) \(values) does not fit \(spatial) spatial dimensions")
      }
      return values
    }
    let strides = try list("strides", 1)
    let dilations = try list("dilations", 1)
    let outputPadding = try list("output_padding", 0)
    guard strides.allSatisfy({ $0 > 0 }), dilations.allSatisfy({ $0 > 0 }) else {
      throw ONNXError.invalidModel("strides and dilations must be positive")
    }
    for d in 0..<spatial where outputPadding[d] >= strides[d] {
      throw ONNXError.unsupported("output_padding \(outputPadding) not smaller than strides \(strides)")
    }
    let input = Array(x.shape.dropFirst(2))
    // Size before padding is removed: stride·(in − 1) + output_padding + dilated kernel extent.
    var full: [Int] = []
    for d in 0..<spatial {
      let extent = (kernel[d] - 1) * dilations[d] + 1
      full.append(strides[d] * (input[d] - 1) + outputPadding[d] + extent)
    }
    let autoPad = try c.string("auto_pad", default: "NOTSET")
    var padBegin: [Int]
    var padEnd: [Int]
    var requested = try c.ints("output_shape")
    if requested == nil, autoPad.hasPrefix("SAME") {
      requested = input.indices.map { input[$0] * strides[$0] }
    }
    if let requested {
      let out = Array(requested.suffix(spatial))
      guard out.count == spatial else {
        throw ONNXError.invalidModel("output_shape \(requested) for \(spatial) dimensions")
      }
      let total = (0..<spatial).map { full[$0] - out[$0] }
      guard total.allSatisfy({ $0 >= 0 }) else {
        throw ONNXError.unsupported("output_shape \(requested) larger than the transposed convolution produces")
      }
      let lower = autoPad == "SAME_LOWER"
      padBegin = total.map { lower ? $0 - $0 / 2 : $0 / 2 }
      padEnd = total.indices.map { total[$0] - padBegin[$0] }
    } else {
      guard autoPad == "NOTSET" || autoPad == "" || autoPad == "VALID" else {
        throw ONNXError.unsupported("auto_pad '\(autoPad)'")
      }
      let zeros = [Int](repeating: 0, count: 2 * spatial)
      let pads = autoPad == "VALID" ? zeros : try c.ints("pads") ?? zeros
      guard pads.count == 2 * spatial, pads.allSatisfy({ $0 >= 0 && $0 <= SpatialWindow.limit }) else {
        throw ONNXError.invalidModel("pads \(pads) do not fit \(spatial) spatial dimensions")
      }
      padBegin = Array(pads.prefix(spatial))
      padEnd = Array(pads.suffix(spatial))
    }
    let yDims = (0..<spatial).map { full[$0] - padBegin[$0] - padEnd[$0] }
    guard yDims.allSatisfy({ $0 > 0 }) else { throw ONNXError.shapeMismatch("pads leave an empty output \(yDims)") }
    let outChannels = w.shape[1] * groups
    let outputShape = [x.shape[0], outChannels] + yDims
    _ = try IndexMap.checkedCount(outputShape)
    var node = c.node
    node.attributes = [
      "kernel_shape": .ints(kernel.map { Int64($0) }), "strides": .ints(strides.map { Int64($0) }),
      "dilations": .ints(dilations.map { Int64($0) }), "pads": .ints((padBegin + padEnd).map { Int64($0) }),
    ]
    let window = try SpatialWindow(
      context: OperatorContext(node: node, opset: c.opset, inputs: []), inputShape: outputShape, kernelShape: kernel)
    guard window.output == input else {
      throw ONNXError.shapeMismatch("ConvTranspose geometry: Y \(outputShape) does not map back onto X \(x.shape)")
    }
    return Geometry(
      window: window, batch: x.shape[0], channels: channels, outChannels: outChannels, groups: groups,
      outputShape: outputShape)
  }

  static let convTranspose = OperatorDefinition(
    differentiableInputs: [0, 1, 2],
    forward: { c in
      let geo = try geometry(c)
      let x = try c.floats(0)
      let w = try c.floats(1)
      let map = geo.window.patchMap()
      let kk = geo.window.kernelCount
      var y = [Float](repeating: 0, count: geo.outputShape.reduce(1, *))
      var cols = [Float](repeating: 0, count: geo.outPerGroup * kk * geo.xPlane)
      for n in 0..<geo.batch {
        for g in 0..<geo.groups {
          // cols [Mg·kk, xPlane] = W_gᵀ X_g, with W_g [Cg, Mg·kk] and X_g [Cg, xPlane].
          MatrixMultiply.sgemm(
            transposeA: true, transposeB: false, m: geo.outPerGroup * kk, n: geo.xPlane, k: geo.channelsPerGroup, w,
            aOffset: g * geo.channelsPerGroup * geo.outPerGroup * kk, x,
            bOffset: (n * geo.channels + g * geo.channelsPerGroup) * geo.xPlane, beta: 0, &cols)
          for m in 0..<geo.outPerGroup {
            let plane = (n * geo.outChannels + g * geo.outPerGroup + m) * geo.yPlane
            let base = m * kk * geo.xPlane
            for j in 0..<(kk * geo.xPlane) where map[j] >= 0 { y[plane + map[j]] += cols[base + j] }
          }
        }
      }
      if let b = c.optionalInput(2) {
        let bias = try b.floats("B")
        guard bias.count == geo.outChannels else {
          throw ONNXError.shapeMismatch("B \(b.shape) for \(geo.outChannels) channels")
        }
        for i in 0..<y.count { y[i] += bias[(i / geo.yPlane) % geo.outChannels] }
      }
      return [Tensor(shape: geo.outputShape, floats: y)]
    },
    backward: { c, _, gradients, needs in
      guard let dy = try gradients[0]?.floats("gradient") else { return [nil, nil, nil] }
      let geo = try geometry(c)
      let x = try c.floats(0)
      let w = try c.floats(1)
      let map = geo.window.patchMap()
      let kk = geo.window.kernelCount
      var dx = needs[0] ? [Float](repeating: 0, count: x.count) : []
      var dw = needs[1] ? [Float](repeating: 0, count: w.count) : []
      var cols = [Float](repeating: 0, count: geo.outPerGroup * kk * geo.xPlane)
      for n in 0..<geo.batch {
        for g in 0..<geo.groups {
          for m in 0..<geo.outPerGroup {  // im2col of dY
            let plane = (n * geo.outChannels + g * geo.outPerGroup + m) * geo.yPlane
            let base = m * kk * geo.xPlane
            for j in 0..<(kk * geo.xPlane) { cols[base + j] = map[j] >= 0 ? dy[plane + map[j]] : 0 }
          }
          let xOffset = (n * geo.channels + g * geo.channelsPerGroup) * geo.xPlane
          let wOffset = g * geo.channelsPerGroup * geo.outPerGroup * kk
          if needs[0] {  // dX_g = W_g cols
            MatrixMultiply.sgemm(
              transposeA: false, transposeB: false, m: geo.channelsPerGroup, n: geo.xPlane, k: geo.outPerGroup * kk, w,
              aOffset: wOffset, cols, beta: 0, &dx, cOffset: xOffset)
          }
          if needs[1] {  // dW_g += X_g colsᵀ
            MatrixMultiply.sgemm(
              transposeA: false, transposeB: true, m: geo.channelsPerGroup, n: geo.outPerGroup * kk, k: geo.xPlane, x,
              aOffset: xOffset, cols, beta: 1, &dw, cOffset: wOffset)
          }
        }
      }
      var db: Tensor? = nil
      if needs.count > 2, needs[2], let b = c.optionalInput(2) {
        var sums = [Float](repeating: 0, count: geo.outChannels)
        for i in 0..<dy.count { sums[(i / geo.yPlane) % geo.outChannels] += dy[i] }
        db = Tensor(shape: b.shape, floats: sums)
      }
      return [
        needs[0] ? Tensor(shape: try c.input(0).shape, floats: dx) : nil,
        needs[1] ? Tensor(shape: try c.input(1).shape, floats: dw) : nil, db,
      ]
    })

  static let all: [String: OperatorDefinition] = ["ConvTranspose": convTranspose]
}
