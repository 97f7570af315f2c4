/// Conv with pads, strides, dilations and groups on any number of spatial dimensions: im2col
/// (`PatchMatrix`), then one sgemm per group over the patch matrices of several samples.
///
/// The reverse pass forms the weight gradient per sample (its rows are per sample) and the input
/// gradient for several samples' rows in one sgemm, back through the same patch matrix (col2im).
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

  /// Samples whose patch matrices the forward pass multiplies in one sgemm.
  ///
  /// Planes of 256 positions or more make a wide enough product alone, written straight into
  /// the output; smaller ones (a ResNet's last stages: 8×8, 4×4) join as many samples as fit in
  /// about 2²³ floats (32 MiB) of patches.
  static func samplesPerProduct(_ geo: Geometry) -> Int {
    guard geo.outPlane < 256 else { return 1 }
    return max(1, min(geo.batch, (1 << 23) / max(1, geo.patchSize * geo.outPlane)))
  }

  /// `count` floats left unwritten, for buffers every element of which is written before it is
  /// read.
  private static func unwritten(_ count: Int) -> [Float] {
    [Float](unsafeUninitializedCapacity: count) { $1 = count }
  }

  /// The Winograd weights of a 3×3 stride-1 kernel, computed once with the model's constants.
  static func prepareWinograd(_ c: OperatorContext) throws -> Tensor? {
    guard let w = c.optionalInput(1), w.rank == 4, w.shape[2] == 3, w.shape[3] == 3,
      try c.int("group", default: 1) == 1, try c.ints("strides") ?? [1, 1] == [1, 1],
      try c.ints("dilations") ?? [1, 1] == [1, 1]
    else { return nil }
    let (outChannels, inChannels) = (w.shape[0], w.shape[1])
    let u = try w.floats("W").withUnsafeBufferPointer { w in
      w.baseAddress.map { WinogradConvolution.weights($0, outChannels: outChannels, inChannels: inChannels) } ?? []
    }
    return Tensor(shape: [16, outChannels, inChannels], floats: u)
  }

  /// The prepared Winograd weights, or (weights that are not constant) the ones of `w` now.
  private static func winogradWeights(_ c: OperatorContext, _ w: UnsafePointer<Float>, _ geo: Geometry) -> [Float] {
    if let prepared = c.prepared, prepared.shape == [16, geo.outChannels, geo.channels],
      case .float(let u) = prepared.elements
    {
      return u
    }
    return WinogradConvolution.weights(w, outChannels: geo.outChannels, inChannels: geo.channels)
  }

  static let conv = OperatorDefinition(
    differentiableInputs: [0, 1, 2], sinkInputs: [1], prepare: prepareWinograd,
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
      let outputShape = geo.window.outputShape(batch: geo.batch, channels: geo.outChannels)
      if WinogradConvolution.serves(geo) {
        let winograd = WinogradConvolution(geo, reversed: false)
        let y = x.withUnsafeBufferPointer { x in
          w.withUnsafeBufferPointer { w in
            [Float](unsafeUninitializedCapacity: geo.batch * geo.outChannels * geo.outPlane) { y, count in
              count = geo.batch * geo.outChannels * geo.outPlane
              guard let x = x.baseAddress, let w = w.baseAddress, let y = y.baseAddress else { return }
              winograd.run(x, count: geo.batch, weights: winogradWeights(c, w, geo), bias: bias, into: y)
            }
          }
        }
        return [Tensor(shape: outputShape, floats: y)]
      }
      let patches = PatchMatrix(window: geo.window, channels: geo.channelsPerGroup)
      let chunk = samplesPerProduct(geo)
      let outPlane = geo.outPlane
      // The patch matrices of `chunk` samples side by side, [patchSize, chunk · outPlane], give
      // one wide sgemm; its [outPerGroup, chunk · outPlane] result is then laid out per sample.
      var columns = unwritten(geo.patchSize * chunk * outPlane)
      var product = unwritten(chunk > 1 ? geo.outPerGroup * chunk * outPlane : 0)
      var y = unwritten(geo.batch * geo.outChannels * outPlane)
      x.withUnsafeBufferPointer { x in
        w.withUnsafeBufferPointer { w in
          columns.withUnsafeMutableBufferPointer { columns in
            product.withUnsafeMutableBufferPointer { product in
              y.withUnsafeMutableBufferPointer { y in
                guard let x = x.baseAddress, let w = w.baseAddress, let columns = columns.baseAddress,
                  let y = y.baseAddress
                else { return }
                var first = 0
                while first < geo.batch {
                  let count = min(chunk, geo.batch - first)
                  let wide = count * outPlane
                  for g in 0..<geo.groups {
                    for s in 0..<count {
                      let plane = ((first + s) * geo.channels + g * geo.channelsPerGroup) * geo.inPlane
                      patches.fill(from: x + plane, into: columns + s * outPlane, leading: wide)
                    }
                    let target = y + (first * geo.outChannels + g * geo.outPerGroup) * outPlane
                    if count == 1 {  // one sample: the product is the output block itself
                      if let bias {
                        for m in 0..<geo.outPerGroup {
                          (target + m * outPlane).update(repeating: bias[g * geo.outPerGroup + m], count: outPlane)
                        }
                      }
                      MatrixMultiply.sgemm(
                        transposeA: false, transposeB: false, m: geo.outPerGroup, n: outPlane, k: geo.patchSize, w,
                        aOffset: g * geo.outPerGroup * geo.patchSize, columns, beta: bias == nil ? 0 : 1, target)
                      continue
                    }
                    guard let product = product.baseAddress else { return }
                    MatrixMultiply.sgemm(
                      transposeA: false, transposeB: false, m: geo.outPerGroup, n: wide, k: geo.patchSize, w,
                      aOffset: g * geo.outPerGroup * geo.patchSize, columns, beta: 0, product)
                    for s in 0..<count {
                      for m in 0..<geo.outPerGroup {
                        let channel = g * geo.outPerGroup + m
                        let target = y + ((first + s) * geo.outChannels + channel) * outPlane
                        let source = product + m * wide + s * outPlane
                        if let bias {
                          let b = bias[channel]
                          for j in 0..<outPlane { target[j] = source[j] + b }
                        } else {
                          target.update(from: source, count: outPlane)
                        }
                      }
                    }
                  }
                  first += count
                }
              }
            }
          }
        }
      }
      return [Tensor(shape: outputShape, floats: y)]
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
      let patches = PatchMatrix(window: geo.window, channels: geo.channelsPerGroup)
      let outPlane = geo.outPlane
      let block = geo.outPerGroup * outPlane
      let weightBlock = geo.outPerGroup * geo.patchSize
      let wide = rows * outPlane
      let inputCount = x.count
      let weightCount = w.count
      // A Winograd-served convolution's input gradient is another Winograd convolution over the
      // rows·batch output-gradient planes, which lie one after another.
      let winograd = needs[0] && WinogradConvolution.serves(geo)
      var dx =
        !needs[0]
        ? []
        : winograd
          ? dy.withUnsafeBufferPointer { dy in
            w.withUnsafeBufferPointer { w in
              [Float](unsafeUninitializedCapacity: rows * x.count) { dx, count in
                count = rows * x.count
                guard let dy = dy.baseAddress, let w = w.baseAddress, let dx = dx.baseAddress else { return }
                WinogradConvolution(geo, reversed: true).run(
                  dy, count: rows * geo.batch, weights: winogradWeights(c, w, geo), bias: nil, into: dx)
              }
            }
          }
          : [Float](repeating: 0, count: rows * x.count)
      // dW row r goes to the caller's sink when there is one, else to `dw` (rows of weightCount).
      let sink = c.sink(1)
      var dw = needs[1] && sink == nil ? [Float](repeating: 0, count: rows * w.count) : []
      // The first product into a row that no earlier node wrote may overwrite it (beta 0) when it
      // is the row's only product (one sample, one group); otherwise products add to zeros.
      let overwritesWeights = geo.batch == 1 && geo.groups == 1 && !(sink?.accumulate ?? false)
      if let sink, !overwritesWeights, !sink.accumulate { sink.sink.clear(rows: rows) }
      // dX goes through one sgemm per group for `chunk` samples' rows side by side.
      let chunk = max(1, min(geo.batch, (1 << 21) / max(1, geo.patchSize * wide)))
      // Written before they are read (`fill`, the copies into `side`, sgemm with beta 0): a reverse
      // pass per sample makes these for every sample and convolution, so they are not zeroed.
      var columns = unwritten(needs[1] ? geo.patchSize * outPlane : 0)
      let patchedInput = needs[0] && !winograd
      var side = unwritten(patchedInput ? chunk * rows * block : 0)
      var dcols = unwritten(patchedInput ? geo.patchSize * chunk * wide : 0)
      x.withUnsafeBufferPointer { x in
        w.withUnsafeBufferPointer { w in
          dy.withUnsafeBufferPointer { dy in
            dx.withUnsafeMutableBufferPointer { dx in
              dw.withUnsafeMutableBufferPointer { dw in
                columns.withUnsafeMutableBufferPointer { columns in
                  side.withUnsafeMutableBufferPointer { side in
                    dcols.withUnsafeMutableBufferPointer { dcols in
                      guard let x = x.baseAddress, let w = w.baseAddress, let dy = dy.baseAddress else { return }
                      for g in 0..<geo.groups {
                        // dY of (row r, sample n, group g) starts at outOffset(r, n).
                        let outOffset = { (r: Int, n: Int) in
                          ((r * geo.batch + n) * geo.outChannels + g * geo.outPerGroup) * outPlane
                        }
                        let plane = { (n: Int) in (n * geo.channels + g * geo.channelsPerGroup) * geo.inPlane }
                        let weights =
                          sink?.sink
                          ?? dw.baseAddress.map { ParameterSink(base: $0, rowStride: weightCount, count: weightCount) }
                        if needs[1], let weights, let columns = columns.baseAddress {
                          for n in 0..<geo.batch {
                            patches.fill(from: x + plane(n), into: columns, leading: outPlane)
                            if overwritesWeights && weights.rowStride == weightCount {
                              // Rows side by side: dY and dW are [rows·outChannels, ·] matrices, so
                              // dW_r = dY_r colsᵀ for every row is one sgemm.
                              MatrixMultiply.sgemm(
                                transposeA: false, transposeB: true, m: rows * geo.outChannels, n: geo.patchSize,
                                k: outPlane, dy, columns, beta: 0, weights.base)
                            } else {  // dW_r,g (+)= dY_r,n,g colsᵀ, accumulated over the samples n
                              for r in 0..<rows {
                                MatrixMultiply.sgemm(
                                  transposeA: false, transposeB: true, m: geo.outPerGroup, n: geo.patchSize,
                                  k: outPlane, dy, aOffset: outOffset(r, n), columns,
                                  beta: overwritesWeights ? 0 : 1, weights.row(r), cOffset: g * weightBlock)
                              }
                            }
                          }
                        }
                        guard patchedInput, let dx = dx.baseAddress, let side = side.baseAddress,
                          let dcols = dcols.baseAddress
                        else { continue }
                        var first = 0
                        while first < geo.batch {
                          let count = min(chunk, geo.batch - first)
                          let columnsWide = count * wide
                          // dcols = W_gᵀ [dY_r,n,g for n, r], [outPerGroup, count·rows·outPlane].
                          for s in 0..<count {
                            for r in 0..<rows {
                              for m in 0..<geo.outPerGroup {
                                (side + m * columnsWide + (s * rows + r) * outPlane).update(
                                  from: dy + outOffset(r, first + s) + m * outPlane, count: outPlane)
                              }
                            }
                          }
                          MatrixMultiply.sgemm(
                            transposeA: true, transposeB: false, m: geo.patchSize, n: columnsWide, k: geo.outPerGroup,
                            w, aOffset: g * weightBlock, side, beta: 0, dcols)
                          for s in 0..<count {
                            for r in 0..<rows {
                              patches.accumulate(
                                dcols + (s * rows + r) * outPlane, leading: columnsWide,
                                into: dx + r * inputCount + plane(first + s))
                            }
                          }
                          first += count
                        }
                      }
                    }
                  }
                }
              }
            }
          }
        }
      }
      var db: Tensor? = nil
      if needs.count > 2, needs[2], let b = c.optionalInput(2) {
        var sums = [Float](repeating: 0, count: rows * geo.outChannels)
        dy.withUnsafeBufferPointer { dy in
          guard let dy = dy.baseAddress else { return }
          for r in 0..<rows {
            for n in 0..<geo.batch {
              for m in 0..<geo.outChannels {
                let source = dy + ((r * geo.batch + n) * geo.outChannels + m) * outPlane
                // A local sum: accumulating in the array would store and reload on every step.
                var total: Float = 0
                for j in 0..<outPlane { total += source[j] }
                sums[r * geo.outChannels + m] += total
              }
            }
          }
        }
        db = Tensor(shape: [rows] + b.shape, floats: sums)
      }
      return [
        needs[0] ? Tensor(shape: [rows] + (try c.input(0).shape), floats: dx) : nil,
        needs[1] && sink == nil ? Tensor(shape: [rows] + (try c.input(1).shape), floats: dw) : nil, db,
      ]
    })

  static let all: [String: OperatorDefinition] = ["Conv": conv]
}
