import Foundation

/// Resize and Upsample in nearest and linear (bilinear, trilinear...) modes.
///
/// Nearest mode is an index map; linear mode a weighted one: each output element is a
/// weighted sum of up to 2^k input elements (edge-clamped), and the reverse pass scatters
/// with the same weights. Cubic mode, antialiasing, `axes` and tf_crop_and_resize are
/// reported as unsupported.
enum ResizeOperator {
  /// Output shape and the output-to-input coordinate transform of one Resize node.
  struct Geometry {
    var inputShape: [Int]
    var outputShape: [Int]
    var scales: [Double]
    var mode: String
    var transform: String
    var rounding: String

    init(_ c: OperatorContext, _ x: Tensor) throws {
      mode = try c.string("mode", default: "nearest")
      guard mode == "nearest" || mode == "linear" || mode == "bilinear" else {
        throw ONNXError.unsupported("\(c.node.opType) mode '\(mode)' (nearest and linear are supported)")
      }
      let upsample = c.node.opType == "Upsample"
      let legacy = upsample || c.opset < 11
      guard try c.int("antialias", default: 0) == 0, c.node.attributes["axes"] == nil else {
        throw ONNXError.unsupported("Resize with antialias or axes")
      }
      transform = legacy ? "asymmetric" : try c.string("coordinate_transformation_mode", default: "half_pixel")
      rounding = legacy ? "floor" : try c.string("nearest_mode", default: "round_prefer_floor")
      var given: [Float]? = nil
      var sizes: [Int]? = nil
      if upsample {
        if case .floats(let values)? = c.node.attributes["scales"] { given = values } else { given = try c.floats(1) }
      } else {
        let scalesSlot = c.opset < 11 ? 1 : 2
        if let s = c.optionalInput(scalesSlot), s.count > 0 { given = try s.floats("scales") }
        if c.opset >= 11, let s = c.optionalInput(3), s.count > 0 { sizes = try s.ints("sizes").map { Int($0) } }
      }
      inputShape = x.shape
      if let sizes {
        outputShape = sizes
        guard sizes.count == x.rank else { throw ONNXError.shapeMismatch("sizes \(sizes) for input \(x.shape)") }
        scales = zip(sizes, x.shape).map { Double($0) / Double(max($1, 1)) }
      } else if let given {
        guard given.count == x.rank, given.allSatisfy({ $0 > 0 && $0.isFinite }) else {
          throw ONNXError.invalidModel("scales \(given) must be \(x.rank) positive numbers")
        }
        scales = given.map { Double($0) }
        outputShape = try zip(x.shape, scales).map { n, s throws(ONNXError) -> Int in
          let size = (Double(n) * s).rounded(.down)
          guard size < Double(IndexMap.maximumElementCount) else { throw .shapeMismatch("Resize output too large") }
          return Int(size)
        }
      } else {
        throw ONNXError.invalidModel("Resize needs scales or sizes")
      }
      _ = try IndexMap.checkedCount(outputShape)
    }

    /// The input coordinate that output coordinate `o` of dimension `d` samples.
    func source(_ d: Int, _ o: Int) throws -> Double {
      // ONNX measures the resized length before rounding: input length × scale.
      let (n, scale, y) = (inputShape[d], scales[d], Double(o))
      let resized = Double(n) * scale
      switch transform {
      case "half_pixel": return (y + 0.5) / scale - 0.5
      case "pytorch_half_pixel": return resized > 1 ? (y + 0.5) / scale - 0.5 : 0
      case "align_corners": return resized == 1 ? 0 : y * Double(n - 1) / (resized - 1)
      case "asymmetric": return y / scale
      case "tf_half_pixel_for_nn": return (y + 0.5) / scale
      default: throw ONNXError.unsupported("coordinate_transformation_mode '\(transform)'")
      }
    }

    /// Per dimension and output coordinate: the (input offset, weight) pairs it reads.
    func taps() throws -> [[[(Int, Float)]]] {
      let strides = IndexMap.strides(inputShape)
      return try inputShape.indices.map { d in
        let n = inputShape[d]
        func clamp(_ i: Int) -> Int { min(max(i, 0), max(n - 1, 0)) * strides[d] }
        return try (0..<outputShape[d]).map { o -> [(Int, Float)] in
          let x = try source(d, o)
          guard x.isFinite else { return [(0, 1)] }
          if mode == "nearest" {
            let index: Double
            switch rounding {
            case "round_prefer_floor": index = x - x.rounded(.down) == 0.5 ? x.rounded(.down) : x.rounded()
            case "round_prefer_ceil": index = x - x.rounded(.down) == 0.5 ? x.rounded(.up) : x.rounded()
            case "floor": index = x.rounded(.down)
            case "ceil": index = x.rounded(.up)
            default: throw ONNXError.unsupported("nearest_mode '\(rounding)'")
            }
            return [(clamp(Int(index)), 1)]
          }
          let low = x.rounded(.down)
          let fraction = Float(x - low)
          let taps = [(clamp(Int(low)), 1 - fraction), (clamp(Int(low) + 1), fraction)]
          return taps.filter { $0.1 != 0 }
        }
      }
    }

    /// For every output element, its (input index, weight) pairs, row-major.
    func weightedMap() throws -> [[(Int, Float)]] {
      var result: [[(Int, Float)]] = [[(0, 1)]]
      for perDimension in try taps() {
        var next: [[(Int, Float)]] = []
        next.reserveCapacity(result.count * perDimension.count)
        for prefix in result {
          for tap in perDimension {
            next.append(prefix.flatMap { p in tap.map { (p.0 + $0.0, p.1 * $0.1) } })
          }
        }
        result = next
      }
      return result
    }
  }

  static let resize = OperatorDefinition(
    since: 7, differentiableInputs: [0],
    forward: { c in
      let x = try c.input(0)
      let geometry = try Geometry(c, x)
      let map = try geometry.weightedMap()
      if geometry.mode == "nearest" {
        return [x.gathering(map.map { $0.first?.0 ?? -1 }, shape: geometry.outputShape)]
      }
      let values = try c.floats(0)
      return [
        Tensor(shape: geometry.outputShape, floats: map.map { taps in taps.reduce(0) { $0 + values[$1.0] * $1.1 } })
      ]
    },
    backward: { c, _, gradients, _ in
      guard let g = try gradients[0]?.floats("gradient") else { return [nil] }
      let x = try c.input(0)
      let map = try Geometry(c, x).weightedMap()
      var dx = [Float](repeating: 0, count: x.count)
      for (o, taps) in map.enumerated() {
        for (i, w) in taps { dx[i] += w * g[o] }
      }
      return [Tensor(shape: x.shape, floats: dx)]
    })

  static let all: [String: OperatorDefinition] = ["Resize": resize, "Upsample": resize]
}
