/// Conv with pads, strides, dilations and groups on any number of spatial dimensions: im2col,
/// then one sgemm per sample and group.
///
/// The reverse pass reuses the same patch map (col2im).
enum ConvolutionOperator {
  struct Geometry {
    var window: SpatialWindow
    var batch: Int, channels: Int, outChannels: Int, groups: Int
    var channelsPerGroup: Int { channels / groups }
    var outPerGroup: Int { outChannels / groups }
    var patchSize: Int { channelsPerGroup * window.kernelCount }
    var inPlane: Int { window.inputPlane }
    var outPlane: Int { window.outputPlane }
  }

  static func geometry(_ c: OperatorContext) throws -> Geometry {
    let x = try c.input(0)
    let w = try c.input(1)
    guard w.rank == x.rank, x.rank >= 3 else {
      throw ONNXError.shapeMismatch("X \(x.shape) and W \(w.shape) must have equal rank ≥ 3")
    }
    let groups = try c.int("group", default: 1)
    let channels = x.shape[1]
    let outChannels = w.shape[0]
    guard groups > 0, channels % groups == 0, outChannels % groups == 0, w.shape[1] * groups == channels else {
      throw ONNXError.shapeMismatch("X \(x.shape), W \(w.shape) and group \(groups) are inconsistent")
    }
    let kernel = try c.ints("kernel_shape") ?? Array(w.shape.dropFirst(2))
    guard kernel == Array(w.shape.dropFirst(2)) else {
      throw ONNXError.shapeMismatch("kernel_shape \(kernel) differs from W \(w.shape)")
    }
    let window = try SpatialWindow(context: c, inputShape: x.shape, kernelShape: kernel)
    return Geometry(window: window, batch: x.shape[0], channels: channels, outChannels: outChannels, groups: groups)
  }

  /// The patch matrix of sample n, group g: [patchSize, outPlane].
  static func columns(_ x: [Float], _ geo: Geometry, _ map: [Int], n: Int, g: Int) -> [Float] {
    let kk = geo.window.kernelCount
    var cols = [Float](repeating: 0, count: geo.patchSize * geo.outPlane)
    for ci in 0..<geo.channelsPerGroup {
      let plane = (n * geo.channels + g * geo.channelsPerGroup + ci) * geo.inPlane
      let base = ci * kk * geo.outPlane
      for j in 0..<(kk * geo.outPlane) where map[j] >= 0 { cols[base + j] = x[plane + map[j]] }
    }
    return cols
  }

  static let conv = OperatorDefinition(
    differentiableInputs: [0, 1, 2],
    forward: { c in
      let geo = try geometry(c)
      let x = try c.floats(0)
      let w = try c.floats(1)
      var bias: [Float]? = nil
      if let b = c.optionalInput(2) {
        bias = try b.floats("B")
        guard b.count == geo.outChannels else {
          throw ONNXError.shapeMismatch("B \(b.shape) for \(geo.outChannels) output channels")
        }
      }
      let map = geo.window.patchMap()
      var y = [Float](repeating: 0, count: geo.batch * geo.outChannels * geo.outPlane)
      for n in 0..<geo.batch {
        for g in 0..<geo.groups {
          let cols = columns(x, geo, map, n: n, g: g)
          let outOffset = (n * geo.outChannels + g * geo.outPerGroup) * geo.outPlane
          if let bias {
            for m in 0..<geo.outPerGroup {
              for j in 0..<geo.outPlane { y[outOffset + m * geo.outPlane + j] = bias[g * geo.outPerGroup + m] }
            }
          }
          MatrixMultiply.sgemm(
            transposeA: false, transposeB: false, m: geo.outPerGroup, n: geo.outPlane, k: geo.patchSize, w,
            aOffset: g * geo.outPerGroup * geo.patchSize, cols, beta: 1, &y, cOffset: outOffset)
        }
      }
      return [Tensor(shape: geo.window.outputShape(batch: geo.batch, channels: geo.outChannels), floats: y)]
    },
    stackedBackward: { c, _, gradients, needs, rows in
      guard let dy = try gradients[0]?.floats("gradient") else { return [nil, nil, nil] }
      let geo = try geometry(c)
      let x = try c.floats(0)
      let w = try c.floats(1)
      let outCount = geo.batch * geo.outChannels * geo.outPlane
      guard dy.count == rows * outCount else {
        throw ONNXError.shapeMismatch("\(rows) gradient rows of \(outCount) hold \(dy.count) floats")
      }
      let map = geo.window.patchMap()
      let kk = geo.window.kernelCount
      let block = geo.outPerGroup * geo.outPlane
      let weightBlock = geo.outPerGroup * geo.patchSize
      let wide = rows * geo.outPlane
      var dx = needs[0] ? [Float](repeating: 0, count: rows * x.count) : []
      var dw = needs[1] ? [Float](repeating: 0, count: rows * w.count) : []
      var side = [Float](repeating: 0, count: needs[0] ? rows * block : 0)
      var dcols = [Float](repeating: 0, count: needs[0] ? geo.patchSize * wide : 0)
      // (input position in the plane, column of dcols) of every window position that is not padding.
      var inside: [(Int, Int)] = []
      if needs[0] {
        for t in 0..<kk {
          for o in 0..<geo.outPlane where map[t * geo.outPlane + o] >= 0 {
            inside.append((map[t * geo.outPlane + o], t * wide + o))
          }
        }
      }
      for n in 0..<geo.batch {
        for g in 0..<geo.groups {
          // dY of (row r, sample n, group g) starts at outOffset(r).
          let outOffset = { (r: Int) in ((r * geo.batch + n) * geo.outChannels + g * geo.outPerGroup) * geo.outPlane }
          if needs[1] {
            let cols = columns(x, geo, map, n: n, g: g)
            if geo.batch == 1, geo.groups == 1 {
              // One sample (how the backend runs), one group: dY and dW are [rows·outChannels, ·]
              // matrices, so dW_r = dY_r colsᵀ for every row is one sgemm.
              MatrixMultiply.sgemm(
                transposeA: false, transposeB: true, m: rows * geo.outChannels, n: geo.patchSize, k: geo.outPlane,
                dy, cols, beta: 0, &dw)
            } else {  // dW_r,g += dY_r,n,g colsᵀ, accumulated over the samples n
              for r in 0..<rows {
                MatrixMultiply.sgemm(
                  transposeA: false, transposeB: true, m: geo.outPerGroup, n: geo.patchSize, k: geo.outPlane, dy,
                  aOffset: outOffset(r), cols, beta: 1, &dw, cOffset: r * w.count + g * weightBlock)
              }
            }
          }
          if needs[0] {  // dcols_r = W_gᵀ dY_r,g: dY side by side, [outPerGroup, rows·outPlane], one sgemm
            for r in 0..<rows {
              let source = outOffset(r)
              for m in 0..<geo.outPerGroup {
                for o in 0..<geo.outPlane { side[m * wide + r * geo.outPlane + o] = dy[source + m * geo.outPlane + o] }
              }
            }
            MatrixMultiply.sgemm(
              transposeA: true, transposeB: false, m: geo.patchSize, n: wide, k: geo.outPerGroup, w,
              aOffset: g * weightBlock, side, beta: 0, &dcols)
            for r in 0..<rows {  // col2im of row r, through the window's positions inside the input
              for ci in 0..<geo.channelsPerGroup {
                let plane = r * x.count + (n * geo.channels + g * geo.channelsPerGroup + ci) * geo.inPlane
                let source = ci * kk * wide + r * geo.outPlane
                for (target, column) in inside { dx[plane + target] += dcols[source + column] }
              }
            }
          }
        }
      }
      var db: Tensor? = nil
      if needs.count > 2, needs[2], let b = c.optionalInput(2) {
        var sums = [Float](repeating: 0, count: rows * geo.outChannels)
        for r in 0..<rows {
          for n in 0..<geo.batch {
            for m in 0..<geo.outChannels {
              let offset = ((r * geo.batch + n) * geo.outChannels + m) * geo.outPlane
              // A local sum: accumulating in the array would store and reload on every step.
              var total: Float = 0
              for j in 0..<geo.outPlane { total += dy[offset + j] }
              sums[r * geo.outChannels + m] += total
            }
          }
        }
        db = Tensor(shape: [rows] + b.shape, floats: sums)
      }
      return [
        needs[0] ? Tensor(shape: [rows] + (try c.input(0).shape), floats: dx) : nil,
        needs[1] ? Tensor(shape: [rows] + (try c.input(1).shape), floats: dw) : nil, db,
      ]
    })

  static let all: [String: OperatorDefinition] = ["Conv": conv]
}
