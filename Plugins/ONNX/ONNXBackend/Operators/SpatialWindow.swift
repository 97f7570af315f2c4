import Foundation

/// The sliding-window geometry shared by Conv, MaxPool and AveragePool.
///
/// Inputs are [N, C, D1, ..., Dk] with k ≥ 1 spatial dimensions. Holds kernel, strides,
/// dilations, pads (from `pads` or `auto_pad`) and the output size, one entry per spatial
/// dimension.
struct SpatialWindow: Hashable {
  var kernel: [Int]
  var strides: [Int]
  var dilations: [Int]
  var padBegin: [Int]
  var padEnd: [Int]
  var input: [Int]
  var output: [Int]

  /// Positions in one kernel window.
  var kernelCount: Int { kernel.reduce(1, *) }
  /// Elements of one input (or output) channel plane.
  var inputPlane: Int { input.reduce(1, *) }
  var outputPlane: Int { output.reduce(1, *) }

  /// Window parameters are bounded so no window arithmetic can overflow, whatever the model says.
  static let limit = 1 << 24

  /// `given`, or `count` copies of `fallback`; an error when `given` has the wrong length.
  private static func values(_ given: [Int]?, _ fallback: Int, _ name: String, count: Int) throws -> [Int] {
    let v = given ?? [Int](repeating: fallback, count: count)
    guard v.count == count else { throw ONNXError.invalidModel("\(name) has \(v.count) values, expected \(count)") }
    return v
  }

  init(context c: OperatorContext, inputShape: [Int], kernelShape: [Int]?, ceilMode: Bool = false) throws {
    guard inputShape.count >= 3 else {
      throw ONNXError.unsupported("input of rank \(inputShape.count) (windows need [N, C, spatial...])")
    }
    let spatial = inputShape.count - 2
    guard let kernelShape else { throw ONNXError.invalidModel("kernel_shape is required") }
    kernel = try Self.values(kernelShape, 1, "kernel_shape", count: spatial)
    strides = try Self.values(c.ints("strides"), 1, "strides", count: spatial)
    dilations = try Self.values(c.ints("dilations"), 1, "dilations", count: spatial)
    input = Array(inputShape.dropFirst(2))
    for value in kernel + strides + dilations where value <= 0 || value > Self.limit {
      throw ONNXError.invalidModel("kernel_shape, strides and dilations must be in 1...\(Self.limit), got \(value)")
    }
    let (k, s, dl) = (kernel, strides, dilations)
    let extent = (0..<spatial).map { (k[$0] - 1) * dl[$0] + 1 }
    let autoPad = try c.string("auto_pad", default: "NOTSET")
    switch autoPad {
    case "NOTSET", "":
      let pads = try Self.values(c.ints("pads"), 0, "pads", count: 2 * spatial)
      guard pads.allSatisfy({ $0 >= 0 && $0 <= Self.limit }) else {
        throw ONNXError.invalidModel("pads \(pads) must be in 0...\(Self.limit)")
      }
      padBegin = Array(pads.prefix(spatial))
      padEnd = Array(pads.suffix(spatial))
    case "VALID":
      padBegin = [Int](repeating: 0, count: spatial)
      padEnd = padBegin
    case "SAME_UPPER", "SAME_LOWER":
      padBegin = []
      padEnd = []
      for d in 0..<spatial {
        let out = (input[d] + s[d] - 1) / s[d]
        let total = max(0, (out - 1) * s[d] + extent[d] - input[d])
        padBegin.append(autoPad == "SAME_UPPER" ? total / 2 : total - total / 2)
        padEnd.append(total - padBegin[d])
      }
    default:
      throw ONNXError.unsupported("auto_pad '\(autoPad)'")
    }
    output = []
    for d in 0..<spatial {
      let span = input[d] + padBegin[d] + padEnd[d] - extent[d]
      var out = span < 0 ? 0 : (ceilMode ? (span + strides[d] - 1) / strides[d] : span / strides[d]) + 1
      // A window may not start in the end padding (ONNX and PyTorch agree).
      if ceilMode, out > 0, (out - 1) * strides[d] >= input[d] + padBegin[d] { out -= 1 }
      output.append(out)
    }
    guard output.allSatisfy({ $0 > 0 }) else {
      throw ONNXError.shapeMismatch(
        "input \(inputShape) is smaller than the window (kernel \(kernel), pads \(padBegin) and \(padEnd))")
    }
  }

  /// The output tensor shape for batch n and c channels.
  func outputShape(batch n: Int, channels c: Int) -> [Int] { [n, c] + output }

  /// For each (kernel position, output position), the input position within one plane, or -1
  /// where the window covers padding.
  ///
  /// Layout [kernelCount, outputPlane]; both positions row-major over the spatial dimensions.
  ///
  /// Computed once per window geometry and kept (`PatchMapCache`): a model applies the same few
  /// windows at every call.
  func patchMap() -> [Int] {
    PatchMapCache.shared.map(for: self)
  }

  fileprivate func computePatchMap() -> [Int] {
    let inputStrides = IndexMap.strides(input)
    var map: [Int] = []
    map.reserveCapacity(kernelCount * outputPlane)
    var position = [Int](repeating: 0, count: kernel.count)
    for _ in 0..<kernelCount {
      let parts = kernel.indices.map { d in
        (0..<output[d]).map { o -> Int in
          let i = o * strides[d] - padBegin[d] + position[d] * dilations[d]
          return i >= 0 && i < input[d] ? i * inputStrides[d] : -1
        }
      }
      map += IndexMap.combine(parts)
      var d = kernel.count - 1
      while d >= 0 {
        position[d] += 1
        if position[d] < kernel[d] { break }
        position[d] = 0
        d -= 1
      }
    }
    return map
  }

  /// Per output position, how many window positions lie inside the input (or, with
  /// `includePad`, inside the input plus its explicit pads): AveragePool's divisors.
  func windowCounts(includePad: Bool) -> [Float] {
    // The window is a box, so the count is a product of per-dimension counts.
    let parts = kernel.indices.map { d in
      (0..<output[d]).map { o -> Int in
        (0..<kernel[d]).filter { k in
          let i = o * strides[d] - padBegin[d] + k * dilations[d]
          return includePad ? i >= -padBegin[d] && i < input[d] + padEnd[d] : i >= 0 && i < input[d]
        }.count
      }
    }
    var counts = [Float](repeating: 1, count: outputPlane)
    var position = [Int](repeating: 0, count: output.count)
    for j in 0..<outputPlane {
      counts[j] = Float(max(kernel.indices.reduce(1) { $0 * parts[$1][position[$1]] }, 1))
      var d = output.count - 1
      while d >= 0 {
        position[d] += 1
        if position[d] < output[d] { break }
        position[d] = 0
        d -= 1
      }
    }
    return counts
  }
}

/// Patch maps by window geometry, shared by every model in the process.
///
/// A map is a pure function of the geometry. Bounded: when full it starts again, so a stream of
/// odd shapes cannot grow it.
private final class PatchMapCache: @unchecked Sendable {
  static let shared = PatchMapCache()
  static let capacity = 256

  private let lock = NSLock()
  private var maps: [SpatialWindow: [Int]] = [:]

  func map(for window: SpatialWindow) -> [Int] {
    lock.lock()
    if let map = maps[window] {
      lock.unlock()
      return map
    }
    lock.unlock()
    let map = window.computePatchMap()
    lock.lock()
    if maps.count >= Self.capacity { maps.removeAll() }
    maps[window] = map
    lock.unlock()
    return map
  }
}
