/// A 3×3, stride-1, single-group two-dimensional convolution by Winograd's minimal filtering
/// F(2×2, 3×3) (Lavin and Gray, 2016): each 2×2 block of outputs comes from a 4×4 input tile in
/// 16 multiplications per channel pair instead of 36, so the multiply-adds drop 2.25×.
///
/// The 16 multiplications of every tile are 16 independent products `M_ξ = U_ξ V_ξ` with
/// U_ξ [out, in] (the transformed weights) and V_ξ [in, tiles] (the transformed input tiles of
/// several samples side by side): 16 sgemms. The transforms only add and halve, so the result
/// differs from direct convolution by float32 rounding (a few ulps of the largest term).
///
/// The same routine computes a convolution's input gradient (`reversed`): a stride-1
/// convolution's input gradient is the convolution of its output gradient, padded by 2 − pad,
/// with the kernels rotated by 180° and the channels swapped.
struct WinogradConvolution {
  let inChannels: Int, outChannels: Int
  let inputHeight: Int, inputWidth: Int
  let outputHeight: Int, outputWidth: Int
  /// Input rows and columns before the first output's window: positions outside the input
  /// read zero, so any padding (and the reverse pass's 2 − pad) works.
  let padTop: Int, padLeft: Int
  /// Whether this is the input gradient of the convolution whose weights `run` is given.
  let reversed: Bool

  var tileRows: Int { (outputHeight + 1) / 2 }
  var tileColumns: Int { (outputWidth + 1) / 2 }
  var tilesPerSample: Int { tileRows * tileColumns }
  var inputPlane: Int { inputHeight * inputWidth }
  var outputPlane: Int { outputHeight * outputWidth }

  /// Whether the Winograd path serves this convolution, and is worth its transforms: a 3×3
  /// window with stride and dilation 1, one group, pads of at most 2 (so that the input gradient
  /// is one too), at least 8 channels each way (the transforms cost about as much as the
  /// products below that) and an output plane of at least 4×4.
  static func serves(_ geo: ConvolutionOperator.Geometry) -> Bool {
    let w = geo.window
    return w.kernel == [3, 3] && w.strides == [1, 1] && w.dilations == [1, 1] && geo.groups == 1
      && (w.padBegin + w.padEnd).allSatisfy { $0 <= 2 } && geo.channels >= 8 && geo.outChannels >= 8
      && w.output.allSatisfy { $0 >= 4 }
  }

  /// The forward convolution of `geo`, or (`reversed`) the convolution that maps its output
  /// gradient to its input gradient.
  init(_ geo: ConvolutionOperator.Geometry, reversed: Bool) {
    let w = geo.window
    let (channels, input, output) =
      reversed ? (geo.outChannels, w.output, w.input) : (geo.channels, w.input, w.output)
    inChannels = channels
    outChannels = reversed ? geo.channels : geo.outChannels
    (inputHeight, inputWidth) = (input[0], input[1])
    (outputHeight, outputWidth) = (output[0], output[1])
    (padTop, padLeft) = reversed ? (2 - w.padBegin[0], 2 - w.padBegin[1]) : (w.padBegin[0], w.padBegin[1])
    self.reversed = reversed
  }

  /// Transformed weights U = G g Gᵀ of a weight tensor [out, in, 3, 3], [16, out, in].
  ///
  /// The input gradient needs no weights of its own: rotating a 3×3 kernel by 180° swaps the
  /// transform's indices 0 and 3 along both axes (G J = J₄ G, J reversing 3 rows, J₄ swapping rows
  /// 0 and 3 of 4), and swapping the channels transposes each U_ξ, which sgemm does as it reads.
  static func weights(_ w: UnsafePointer<Float>, outChannels: Int, inChannels: Int) -> [Float] {
    let pairs = outChannels * inChannels
    return [Float](unsafeUninitializedCapacity: 16 * pairs) { buffer, count in
      count = 16 * pairs
      guard let u = buffer.baseAddress else { return }
      for pair in 0..<pairs {
        let g = w + pair * 9
        let target = u + pair
        // The rows of G g: g0, (g0 + g1 + g2)/2, (g0 − g1 + g2)/2 and g2 of the kernel's rows.
        let (top, bottom) = (SIMD4(g[0], g[1], g[2], 0), SIMD4(g[6], g[7], g[8], 0))
        let middle = SIMD4(g[3], g[4], g[5], 0)
        // (G g) Gᵀ: the same combination along each row.
        func write(_ r: Int, _ row: SIMD4<Float>) {
          let (a, b, c) = (row[0], row[1], row[2])
          target[(4 * r) * pairs] = a
          target[(4 * r + 1) * pairs] = 0.5 * (a + b + c)
          target[(4 * r + 2) * pairs] = 0.5 * (a - b + c)
          target[(4 * r + 3) * pairs] = c
        }
        write(0, top)
        write(1, 0.5 * (top + middle + bottom))
        write(2, 0.5 * (top - middle + bottom))
        write(3, bottom)
      }
    }
  }

  /// The transform index of a kernel rotated by 180°, per axis.
  private static let rotated = [3, 1, 2, 0]

  /// Floats of transformed inputs and products that one set of 16 sgemms may span.
  ///
  /// 2²⁰ (4 MiB) measured fastest on ResNet-18 (its 32×32 stage: 2 samples a set), against
  /// 2¹⁸–2²³: larger sets leave the cache between the transforms and the products.
  var chunkFloats = 1 << 20

  /// Samples whose tiles share one set of 16 products.
  func samplesPerChunk(of count: Int) -> Int {
    max(1, min(count, chunkFloats / max(1, 16 * (inChannels + outChannels) * tilesPerSample)))
  }

  /// y[n] = conv(x[n]) (+ bias) for `count` samples, overwriting y.
  ///
  /// x holds [count, inChannels, inputPlane], y [count, outChannels, outputPlane], both
  /// contiguous. `weights` are the forward convolution's (`weights(_:outChannels:inChannels:)`),
  /// also when `reversed`.
  func run(
    _ x: UnsafePointer<Float>, count: Int, weights: [Float], bias: [Float]?, into y: UnsafeMutablePointer<Float>
  ) {
    let chunk = samplesPerChunk(of: count)
    let tiles = chunk * tilesPerSample
    let paddedWidth = 2 * tileColumns + 2
    let paddedHeight = 2 * tileRows + 2
    var transformed = [Float](unsafeUninitializedCapacity: 16 * inChannels * tiles) { _, n in
      n = 16 * inChannels * tiles
    }
    var products = [Float](unsafeUninitializedCapacity: 16 * outChannels * tiles) { _, n in
      n = 16 * outChannels * tiles
    }
    var padded = [Float](repeating: 0, count: paddedHeight * paddedWidth)
    var columns = [Float](repeating: 0, count: 4 * paddedWidth)
    transformed.withUnsafeMutableBufferPointer { v in
      products.withUnsafeMutableBufferPointer { m in
        padded.withUnsafeMutableBufferPointer { padded in
          columns.withUnsafeMutableBufferPointer { columns in
            weights.withUnsafeBufferPointer { u in
              guard let v = v.baseAddress, let m = m.baseAddress, let padded = padded.baseAddress,
                let columns = columns.baseAddress, let u = u.baseAddress
              else { return }
              var first = 0
              while first < count {
                let samples = min(chunk, count - first)
                let wide = samples * tilesPerSample
                for s in 0..<samples {
                  for c in 0..<inChannels {
                    pad(x + ((first + s) * inChannels + c) * inputPlane, into: padded, width: paddedWidth)
                    transformInput(
                      padded, width: paddedWidth, rows: columns, into: v + c * wide + s * tilesPerSample,
                      planeStride: inChannels * wide)
                  }
                }
                for xi in 0..<16 {
                  // Reversed, M_ξ = U_ξ'ᵀ V_ξ with ξ' = ξ with indices 0 and 3 swapped on each axis.
                  let source = reversed ? 4 * Self.rotated[xi / 4] + Self.rotated[xi % 4] : xi
                  MatrixMultiply.sgemm(
                    transposeA: reversed, transposeB: false, m: outChannels, n: wide, k: inChannels, u,
                    aOffset: source * outChannels * inChannels, v, bOffset: xi * inChannels * wide, beta: 0, m,
                    cOffset: xi * outChannels * wide)
                }
                for s in 0..<samples {
                  for o in 0..<outChannels {
                    transformOutput(
                      m + o * wide + s * tilesPerSample, planeStride: outChannels * wide, bias: bias?[o] ?? 0,
                      into: y + ((first + s) * outChannels + o) * outputPlane)
                  }
                }
                first += samples
              }
            }
          }
        }
      }
    }
  }

  /// Copies one input plane into the zero-bordered plane whose tiles start every 2 rows and
  /// columns; the border stays zero from the buffer's creation, since every call writes the
  /// same interior.
  private func pad(_ plane: UnsafePointer<Float>, into padded: UnsafeMutablePointer<Float>, width: Int) {
    for r in 0..<(2 * tileRows + 2) {
      let ih = r - padTop
      let row = padded + r * width
      guard ih >= 0, ih < inputHeight else { continue }
      let lower = max(0, padLeft)
      let upper = min(width, inputWidth + padLeft)
      if lower < upper { (row + lower).update(from: plane + ih * inputWidth + lower - padLeft, count: upper - lower) }
    }
  }

  /// V = Bᵀ d B for every tile of one padded plane, written at `v + ξ · planeStride + tile`.
  private func transformInput(
    _ padded: UnsafePointer<Float>, width: Int, rows t: UnsafeMutablePointer<Float>,
    into v: UnsafeMutablePointer<Float>,
    planeStride: Int
  ) {
    for th in 0..<tileRows {
      // Bᵀ d along the columns of the tile row: rows d0 − d2, d1 + d2, d2 − d1, d1 − d3.
      let d0 = padded + 2 * th * width
      let (d1, d2, d3) = (d0 + width, d0 + 2 * width, d0 + 3 * width)
      let (t0, t1, t2, t3) = (t, t + width, t + 2 * width, t + 3 * width)
      for q in 0..<width {
        t0[q] = d0[q] - d2[q]
        t1[q] = d1[q] + d2[q]
        t2[q] = d2[q] - d1[q]
        t3[q] = d1[q] - d3[q]
      }
      // (Bᵀ d) B: the same combination along each row, for each tile; eight tiles at a time read
      // 16 + 16 columns and split them into even and odd ones.
      for k in 0..<4 {
        let row = t + k * width
        let out = v + 4 * k * planeStride + th * tileColumns
        var tw = 0
        while tw + 8 <= tileColumns {
          let left = UnsafeRawPointer(row + 2 * tw).loadUnaligned(as: SIMD16<Float>.self)
          let right = UnsafeRawPointer(row + 2 * tw + 2).loadUnaligned(as: SIMD16<Float>.self)
          let (a0, a1, a2, a3) = (left.evenHalf, left.oddHalf, right.evenHalf, right.oddHalf)
          UnsafeMutableRawPointer(out + tw).storeBytes(of: a0 - a2, as: SIMD8<Float>.self)
          UnsafeMutableRawPointer(out + planeStride + tw).storeBytes(of: a1 + a2, as: SIMD8<Float>.self)
          UnsafeMutableRawPointer(out + 2 * planeStride + tw).storeBytes(of: a2 - a1, as: SIMD8<Float>.self)
          UnsafeMutableRawPointer(out + 3 * planeStride + tw).storeBytes(of: a1 - a3, as: SIMD8<Float>.self)
          tw += 8
        }
        for tw in tw..<tileColumns {
          let a = row + 2 * tw
          out[tw] = a[0] - a[2]
          out[planeStride + tw] = a[1] + a[2]
          out[2 * planeStride + tw] = a[2] - a[1]
          out[3 * planeStride + tw] = a[1] - a[3]
        }
      }
    }
  }

  /// Y = Aᵀ M A + bias for every tile of one output channel, M read at `m + ξ · planeStride + tile`;
  /// the last row and column of tiles are cut at the plane's edge.
  private func transformOutput(
    _ m: UnsafePointer<Float>, planeStride: Int, bias: Float, into y: UnsafeMutablePointer<Float>
  ) {
    for th in 0..<tileRows {
      let top = y + 2 * th * outputWidth
      let bottom = 2 * th + 1 < outputHeight ? top + outputWidth : nil
      let first = th * tileColumns
      // Eight tiles at a time while their 16 output columns lie inside the plane; Aᵀ M has rows
      // m0 + m1 + m2 and m1 − m2 − m3, and (Aᵀ M) A the same combinations of their columns.
      var tw = 0
      while tw + 8 <= tileColumns, 2 * tw + 16 <= outputWidth {
        func at(_ i: Int, _ j: Int) -> SIMD8<Float> {
          UnsafeRawPointer(m + (4 * i + j) * planeStride + first + tw).loadUnaligned(as: SIMD8<Float>.self)
        }
        func store(_ r: (SIMD8<Float>, SIMD8<Float>, SIMD8<Float>, SIMD8<Float>), _ row: UnsafeMutablePointer<Float>) {
          var pair = SIMD16<Float>()
          pair.evenHalf = r.0 + r.1 + r.2 + bias
          pair.oddHalf = r.1 - r.2 - r.3 + bias
          UnsafeMutableRawPointer(row + 2 * tw).storeBytes(of: pair, as: SIMD16<Float>.self)
        }
        let (m0, m1, m2, m3) = (
          (at(0, 0), at(0, 1), at(0, 2), at(0, 3)), (at(1, 0), at(1, 1), at(1, 2), at(1, 3)),
          (at(2, 0), at(2, 1), at(2, 2), at(2, 3)), (at(3, 0), at(3, 1), at(3, 2), at(3, 3))
        )
        store((m0.0 + m1.0 + m2.0, m0.1 + m1.1 + m2.1, m0.2 + m1.2 + m2.2, m0.3 + m1.3 + m2.3), top)
        if let bottom {
          store((m1.0 - m2.0 - m3.0, m1.1 - m2.1 - m3.1, m1.2 - m2.2 - m3.2, m1.3 - m2.3 - m3.3), bottom)
        }
        tw += 8
      }
      for tw in tw..<tileColumns {
        func at(_ i: Int, _ j: Int) -> Float { m[(4 * i + j) * planeStride + first + tw] }
        func store(_ r: (Float, Float, Float, Float), _ row: UnsafeMutablePointer<Float>) {
          row[2 * tw] = r.0 + r.1 + r.2 + bias
          if 2 * tw + 1 < outputWidth { row[2 * tw + 1] = r.1 - r.2 - r.3 + bias }
        }
        store(
          (
            at(0, 0) + at(1, 0) + at(2, 0), at(0, 1) + at(1, 1) + at(2, 1), at(0, 2) + at(1, 2) + at(2, 2),
            at(0, 3) + at(1, 3) + at(2, 3)
          ), top)
        if let bottom {
          store(
            (
              at(1, 0) - at(2, 0) - at(3, 0), at(1, 1) - at(2, 1) - at(3, 1), at(1, 2) - at(2, 2) - at(3, 2),
              at(1, 3) - at(2, 3) - at(3, 3)
            ), bottom)
        }
      }
    }
  }
}
