import Foundation

/// Resize and Upsample in nearest mode.
///
/// Each output element copies one input element, so the operator is an index map (its
/// gradient scatter-adds). Linear and cubic modes are reported as unsupported.
enum ResizeOperator {
  static func plan(_ c: OperatorContext, _ x: Tensor) throws -> IndexOperators.Plan {
    let mode = try c.string("mode", default: "nearest")
    guard mode == "nearest" else {
      throw ONNXError.unsupported("\(c.node.opType) mode '\(mode)' (nearest is supported)")
    }
    let upsample = c.node.opType == "Upsample"
    let legacy = upsample || c.opset < 11
    guard try c.int("antialias", default: 0) == 0, c.node.attributes["axes"] == nil else {
      throw ONNXError.unsupported("Resize with antialias or axes")
    }
    let transform = legacy ? "asymmetric" : try c.string("coordinate_transformation_mode", default: "half_pixel")
    let rounding = legacy ? "floor" : try c.string("nearest_mode", default: "round_prefer_floor")

    var scales: [Float]? = nil
    var sizes: [Int]? = nil
    if upsample {
      if case .floats(let values)? = c.node.attributes["scales"] { scales = values } else { scales = try c.floats(1) }
    } else {
      let scalesSlot = c.opset < 11 ? 1 : 2
      if let s = c.optionalInput(scalesSlot), s.count > 0 { scales = try s.floats("scales") }
      if c.opset >= 11, let s = c.optionalInput(3), s.count > 0 { sizes = try s.ints("sizes").map { Int($0) } }
    }
    var outputShape: [Int]
    if let sizes {
      outputShape = sizes
    } else if let scales {
      guard scales.allSatisfy({ $0 > 0 && $0.isFinite }) else {
        throw ONNXError.invalidModel("scales \(scales) must be positive")
      }
      outputShape = try zip(x.shape, scales).map { n, s throws(ONNXError) -> Int in
        let size = (Double(n) * Double(s)).rounded(.down)
        guard size < Double(IndexMap.maximumElementCount) else { throw .shapeMismatch("Resize output too large") }
        return Int(size)
      }
    } else {
      throw ONNXError.invalidModel("Resize needs scales or sizes")
    }
    guard outputShape.count == x.rank else { throw ONNXError.shapeMismatch("\(outputShape) for input \(x.shape)") }
    _ = try IndexMap.checkedCount(outputShape)
    let strides = IndexMap.strides(x.shape)
    var parts: [[Int]] = []
    for d in 0..<x.rank {
      let (n, m) = (x.shape[d], outputShape[d])
      let scale = sizes == nil ? Double(scales?[d] ?? 1) : Double(m) / Double(max(n, 1))
      parts.append(
        try (0..<m).map { o throws(ONNXError) -> Int in
          let y = Double(o)
          let source: Double
          switch transform {
          case "half_pixel": source = (y + 0.5) / scale - 0.5
          case "pytorch_half_pixel": source = m > 1 ? (y + 0.5) / scale - 0.5 : 0
          case "align_corners": source = m == 1 ? 0 : y * Double(n - 1) / Double(m - 1)
          case "asymmetric": source = y / scale
          case "tf_half_pixel_for_nn": source = (y + 0.5) / scale
          default: throw .unsupported("coordinate_transformation_mode '\(transform)'")
          }
          let index: Double
          switch rounding {
          case "round_prefer_floor":
            index = source - source.rounded(.down) == 0.5 ? source.rounded(.down) : source.rounded()
          case "round_prefer_ceil":
            index = source - source.rounded(.down) == 0.5 ? source.rounded(.up) : source.rounded()
          case "floor": index = source.rounded(.down)
          case "ceil": index = source.rounded(.up)
          default: throw .unsupported("nearest_mode '\(rounding)'")
          }
          return min(max(Int(index.isFinite ? index : 0), 0), max(n - 1, 0)) * strides[d]
        })
    }
    return IndexOperators.Plan(shape: outputShape, map: IndexMap.combine(parts))
  }

  static let all: [String: OperatorDefinition] = [
    "Resize": IndexOperators.mapped(since: 10, plan), "Upsample": IndexOperators.mapped(since: 7, plan),
  ]
}
