/// The sliding-window geometry shared by Conv, MaxPool and AveragePool on 1-D and 2-D inputs [N, C,
/// (H,) W]: kernel, strides, dilations, pads (from `pads` or `auto_pad`) and the output size.
///
/// 1-D inputs are treated as 2-D with H = 1.
struct SpatialWindow {
  var kernel: (Int, Int)
  var strides: (Int, Int)
  var dilations: (Int, Int)
  /// Padding before (top, left); after-padding only shows in the output size.
  var padBegin: (Int, Int)
  var padEnd: (Int, Int)
  var input: (Int, Int)
  var output: (Int, Int)
  /// Whether the tensor is 1-D (rank 3) rather than 2-D (rank 4).
  var isOneDimensional: Bool

  init(context c: OperatorContext, inputShape: [Int], kernelShape: [Int]?, ceilMode: Bool = false) throws {
    guard inputShape.count == 3 || inputShape.count == 4 else {
      throw ONNXError.unsupported(
        "input of rank \(inputShape.count) (1-D and 2-D windows, rank 3 and 4, are supported)")
    }
    let spatial = inputShape.count - 2
    isOneDimensional = spatial == 1
    func pair(_ values: [Int]?, _ fallback: Int, _ name: String) throws -> (Int, Int) {
      let v = values ?? [Int](repeating: fallback, count: spatial)
      guard v.count == spatial else {
        throw ONNXError.invalidModel("\(name) has \(v.count) values for \(spatial) spatial dimensions")
      }
      return spatial == 1 ? (1, v[0]) : (v[0], v[1])
    }
    guard let kernelShape else { throw ONNXError.invalidModel("kernel_shape is required") }
    kernel = try pair(kernelShape, 1, "kernel_shape")
    strides = try pair(c.ints("strides"), 1, "strides")
    dilations = try pair(c.ints("dilations"), 1, "dilations")
    input = spatial == 1 ? (1, inputShape[2]) : (inputShape[2], inputShape[3])
    guard kernel.0 > 0, kernel.1 > 0, strides.0 > 0, strides.1 > 0, dilations.0 > 0, dilations.1 > 0 else {
      throw ONNXError.invalidModel("kernel_shape, strides and dilations must be positive")
    }
    // Bounded so that no window arithmetic below can overflow, whatever the model says.
    let limit = 1 << 24
    for value in [kernel.0, kernel.1, strides.0, strides.1, dilations.0, dilations.1] where value > limit {
      throw ONNXError.unsupported("window parameter \(value) exceeds \(limit)")
    }
    let autoPad = try c.string("auto_pad", default: "NOTSET")
    let extent = ((kernel.0 - 1) * dilations.0 + 1, (kernel.1 - 1) * dilations.1 + 1)
    switch autoPad {
    case "NOTSET", "":
      let pads = try c.ints("pads") ?? [Int](repeating: 0, count: 2 * spatial)
      guard pads.count == 2 * spatial, pads.allSatisfy({ $0 >= 0 && $0 <= limit }) else {
        throw ONNXError.invalidModel("pads \(pads) do not fit \(spatial) spatial dimensions")
      }
      padBegin = spatial == 1 ? (0, pads[0]) : (pads[0], pads[1])
      padEnd = spatial == 1 ? (0, pads[1]) : (pads[2], pads[3])
    case "VALID":
      padBegin = (0, 0)
      padEnd = (0, 0)
    case "SAME_UPPER", "SAME_LOWER":
      func same(_ size: Int, _ stride: Int, _ extent: Int) -> (Int, Int) {
        let out = (size + stride - 1) / stride
        let total = max(0, (out - 1) * stride + extent - size)
        return autoPad == "SAME_UPPER" ? (total / 2, total - total / 2) : (total - total / 2, total / 2)
      }
      let h = same(input.0, strides.0, extent.0)
      let w = same(input.1, strides.1, extent.1)
      padBegin = (h.0, w.0)
      padEnd = (h.1, w.1)
    default:
      throw ONNXError.unsupported("auto_pad '\(autoPad)'")
    }
    func size(_ n: Int, _ begin: Int, _ end: Int, _ extent: Int, _ stride: Int) -> Int {
      let span = n + begin + end - extent
      guard span >= 0 else { return 0 }
      var out = (ceilMode ? (span + stride - 1) / stride : span / stride) + 1
      // A window may not start in the end padding (ONNX and PyTorch agree).
      if ceilMode, (out - 1) * stride >= n + begin { out -= 1 }
      return out
    }
    output = (
      size(input.0, padBegin.0, padEnd.0, extent.0, strides.0), size(input.1, padBegin.1, padEnd.1, extent.1, strides.1)
    )
    guard output.0 > 0, output.1 > 0 else {
      throw ONNXError.shapeMismatch(
        "input \(inputShape) is smaller than the window (kernel \(kernelShape), pads \(padBegin), \(padEnd))")
    }
  }

  /// The output tensor shape for batch n and c channels.
  func outputShape(batch n: Int, channels c: Int) -> [Int] {
    isOneDimensional ? [n, c, output.1] : [n, c, output.0, output.1]
  }

  /// For each (kernel position, output position), the input position within one plane (H·W), or -1
  /// where the window covers padding.
  ///
  /// Layout [kH·kW, outH·outW].
  func patchMap() -> [Int] {
    let outCount = output.0 * output.1
    var map = [Int](repeating: -1, count: kernel.0 * kernel.1 * outCount)
    for ki in 0..<kernel.0 {
      for kj in 0..<kernel.1 {
        let row = (ki * kernel.1 + kj) * outCount
        for oh in 0..<output.0 {
          let h = oh * strides.0 - padBegin.0 + ki * dilations.0
          guard h >= 0, h < input.0 else { continue }
          for ow in 0..<output.1 {
            let w = ow * strides.1 - padBegin.1 + kj * dilations.1
            if w >= 0, w < input.1 { map[row + oh * output.1 + ow] = h * input.1 + w }
          }
        }
      }
    }
    return map
  }
}
