import Testing

@testable import ONNXBackend

/// The Winograd F(2×2, 3×3) convolution and input gradient against a direct float64 convolution
/// written out here, and the Conv operator's prepared weights against none.
///
/// Tolerance 1e-5 of the largest reference value: the transforms only add and halve, so the
/// float32 result is a few ulps from the exact sum.
struct WinogradConvolutionTests {
  struct Shape: CustomTestStringConvertible, Sendable {
    var samples: Int, channels: Int, outChannels: Int, height: Int, width: Int
    /// Top, left, bottom, right.
    var pads: [Int]
    var testDescription: String { "\(channels)→\(outChannels) \(height)×\(width) pads \(pads), \(samples) samples" }
  }

  static let shapes = [
    Shape(samples: 3, channels: 8, outChannels: 9, height: 6, width: 5, pads: [1, 1, 1, 1]),
    Shape(samples: 2, channels: 13, outChannels: 8, height: 9, width: 7, pads: [0, 2, 2, 0]),
    Shape(samples: 1, channels: 8, outChannels: 8, height: 6, width: 6, pads: [0, 0, 0, 0]),
    // Wide enough for the eight-tile vector paths, with an odd output width.
    Shape(samples: 5, channels: 16, outChannels: 12, height: 20, width: 35, pads: [1, 1, 1, 1]),
  ]

  struct Direct {
    let s: Shape
    var outHeight: Int { s.height + s.pads[0] + s.pads[2] - 2 }
    var outWidth: Int { s.width + s.pads[1] + s.pads[3] - 2 }

    /// y[n, o, oh, ow] = b[o] + Σ x[n, i, oh − top + kh, ow − left + kw] w[o, i, kh, kw], in float64.
    func forward(_ x: [Float], _ w: [Float], _ b: [Float]) -> [Double] {
      var y = [Double](repeating: 0, count: s.samples * s.outChannels * outHeight * outWidth)
      for n in 0..<s.samples {
        for o in 0..<s.outChannels {
          for oh in 0..<outHeight {
            for ow in 0..<outWidth {
              var sum = Double(b[o])
              for i in 0..<s.channels {
                for kh in 0..<3 {
                  for kw in 0..<3 {
                    let (ih, iw) = (oh - s.pads[0] + kh, ow - s.pads[1] + kw)
                    guard ih >= 0, ih < s.height, iw >= 0, iw < s.width else { continue }
                    sum +=
                      Double(x[((n * s.channels + i) * s.height + ih) * s.width + iw])
                      * Double(w[((o * s.channels + i) * 3 + kh) * 3 + kw])
                  }
                }
              }
              y[((n * s.outChannels + o) * outHeight + oh) * outWidth + ow] = sum
            }
          }
        }
      }
      return y
    }

    /// The adjoint of `forward` without bias: dx = Σ over the outputs each input reaches.
    func inputGradient(_ dy: [Float], _ w: [Float]) -> [Double] {
      var dx = [Double](repeating: 0, count: s.samples * s.channels * s.height * s.width)
      for n in 0..<s.samples {
        for o in 0..<s.outChannels {
          for oh in 0..<outHeight {
            for ow in 0..<outWidth {
              let g = Double(dy[((n * s.outChannels + o) * outHeight + oh) * outWidth + ow])
              for i in 0..<s.channels {
                for kh in 0..<3 {
                  for kw in 0..<3 {
                    let (ih, iw) = (oh - s.pads[0] + kh, ow - s.pads[1] + kw)
                    guard ih >= 0, ih < s.height, iw >= 0, iw < s.width else { continue }
                    dx[((n * s.channels + i) * s.height + ih) * s.width + iw] +=
                      g * Double(w[((o * s.channels + i) * 3 + kh) * 3 + kw])
                  }
                }
              }
            }
          }
        }
      }
      return dx
    }
  }

  static func node(_ pads: [Int]) -> Node {
    Node(
      name: "conv", opType: "Conv", domain: "", inputs: ["x", "w", "b"], outputs: ["y"],
      attributes: ["pads": .ints(pads.map(Int64.init))])
  }

  static func expectClose(_ actual: [Float], _ reference: [Double]) {
    #expect(actual.count == reference.count)
    let scale = reference.map(abs).max() ?? 0
    let worst = zip(actual, reference).map { abs(Double($0) - $1) }.max() ?? 0
    #expect(worst <= 1e-5 * scale, "worst difference \(worst), largest value \(scale)")
  }

  @Test(arguments: shapes)
  func forwardAndInputGradientMatchDirectConvolution(_ s: Shape) throws {
    var numbers = OperatorGradientTests.Numbers(state: 5)
    let direct = Direct(s: s)
    let x = numbers.tensor([s.samples, s.channels, s.height, s.width])
    let w = numbers.tensor([s.outChannels, s.channels, 3, 3])
    let b = numbers.tensor([s.outChannels])
    let context = OperatorContext(node: Self.node(s.pads), opset: 17, inputs: [x, w, b])
    let geometry = try ConvolutionOperator.geometry(context)
    #expect(WinogradConvolution.serves(geometry) == (s.outChannels >= 8 && s.channels >= 8))

    let y = try ConvolutionOperator.conv.forward(context)[0]
    #expect(y.shape == [s.samples, s.outChannels, direct.outHeight, direct.outWidth])
    Self.expectClose(
      try y.floats("y"), direct.forward(try x.floats("x"), try w.floats("w"), try b.floats("b")))

    // Sets of 16 sgemms over 1 or 2 samples give the same outputs as one set over all of them.
    var small = WinogradConvolution(geometry, reversed: false)
    small.chunkFloats = 16 * (s.channels + s.outChannels) * small.tilesPerSample * 2
    let weights = try w.floats("w").withUnsafeBufferPointer {
      WinogradConvolution.weights($0.baseAddress!, outChannels: s.outChannels, inChannels: s.channels)
    }
    let bias = try b.floats("b")
    let chunked = try x.floats("x").withUnsafeBufferPointer { x in
      [Float](unsafeUninitializedCapacity: y.count) { buffer, count in
        small.run(x.baseAddress!, count: s.samples, weights: weights, bias: bias, into: buffer.baseAddress!)
        count = y.count
      }
    }
    Self.expectClose(chunked, try y.floats("y").map(Double.init))

    // Two stacked rows of output gradients: each row's input gradient is the adjoint of its own.
    let rows = 2
    let dy = numbers.tensor([rows] + y.shape)
    let gradients = try ConvolutionOperator.conv.reverse(context, [y], [dy], [true, false, false], rows: rows)
    let dx = try #require(gradients[0]).floats("dx")
    let dyValues = try dy.floats("dy")
    for r in 0..<rows {
      let row = Array(dyValues[(r * y.count)..<((r + 1) * y.count)])
      Self.expectClose(Array(dx[(r * x.count)..<((r + 1) * x.count)]), direct.inputGradient(row, try w.floats("w")))
    }
  }

  /// A constant weight gets its Winograd transform once, with the model's constants; the passes
  /// that use it give what the transform made at each call gives.
  @Test func preparedWeightsGiveTheSameResult() throws {
    let s = Self.shapes[0]
    var numbers = OperatorGradientTests.Numbers(state: 9)
    let initializers = [
      "w": numbers.tensor([s.outChannels, s.channels, 3, 3]), "b": numbers.tensor([s.outChannels]),
    ]
    let graph = Graph(
      nodes: [Self.node(s.pads)], initializerNames: ["w", "b"], initializers: initializers,
      inputs: [ValueInfo(name: "x", elementType: 1, shape: nil, isTensor: true)],
      outputs: [ValueInfo(name: "y", elementType: 1, shape: nil, isTensor: true)], opset: 17)
    let interpreter = try Interpreter(graph: graph)
    let constants = try interpreter.constantValues(initializers, inputs: ["x"])
    #expect(constants.count == initializers.count + 1, "the prepared weights sit beside the initializers")
    let x = numbers.tensor([s.samples, s.channels, s.height, s.width])
    let prepared = try interpreter.run(constants.merging(["x": x]) { $1 })
    let unprepared = try interpreter.run(initializers.merging(["x": x]) { $1 })
    #expect(try #require(prepared["y"]) == (try #require(unprepared["y"])))
  }
}
