import Foundation

/// im2col and col2im for one group of a convolution: the patch matrix of one sample has a row per
/// (input channel, kernel position) and a column per output position, [channels · kernelCount,
/// outputPlane], stored with a row stride `leading` ≥ outputPlane so that several samples' patch
/// matrices can sit side by side as the columns of one GEMM operand.
///
/// Two-dimensional windows (every image model) copy whole output rows at a time: for each kernel
/// position and output row, the columns that fall on padding are zero and the rest are one strided
/// (contiguous for stride 1) run of an input row. Other ranks go through the window's cached patch
/// map, one element at a time.
struct PatchMatrix {
  let window: SpatialWindow
  /// Input channels the matrix covers (a group's).
  let channels: Int

  var rows: Int { channels * window.kernelCount }

  /// Fills the patch matrix of `x` (the group's first channel plane; planes `inputPlane` apart).
  func fill(from x: UnsafePointer<Float>, into columns: UnsafeMutablePointer<Float>, leading: Int) {
    let inPlane = window.inputPlane
    let outPlane = window.outputPlane
    if let plane = Plane(window) {
      for ci in 0..<channels {
        let source = x + ci * inPlane
        for kh in 0..<plane.kernelHeight {
          for kw in 0..<plane.kernelWidth {
            let row = columns + ((ci * plane.kernelHeight + kh) * plane.kernelWidth + kw) * leading
            plane.forEachRun(kh: kh, kw: kw) { oh, run in
              let target = row + oh * plane.outputWidth
              guard let run else {
                target.update(repeating: 0, count: plane.outputWidth)
                return
              }
              if run.lower > 0 { target.update(repeating: 0, count: run.lower) }
              if run.upper < plane.outputWidth {
                (target + run.upper).update(repeating: 0, count: plane.outputWidth - run.upper)
              }
              let start = source + run.input
              if plane.strideWidth == 1 {
                (target + run.lower).update(from: start, count: run.upper - run.lower)
              } else {
                for ow in run.lower..<run.upper { target[ow] = start[(ow - run.lower) * plane.strideWidth] }
              }
            }
          }
        }
      }
      return
    }
    let kk = window.kernelCount
    window.patchMap().withUnsafeBufferPointer { map in
      guard let map = map.baseAddress else { return }
      for ci in 0..<channels {
        let source = x + ci * inPlane
        for t in 0..<kk {
          let row = columns + (ci * kk + t) * leading
          let positions = map + t * outPlane
          for o in 0..<outPlane {
            let p = positions[o]
            row[o] = p >= 0 ? source[p] : 0
          }
        }
      }
    }
  }

  /// Adds the patch-matrix gradient `columns` back onto the input gradient `dx` (col2im): each
  /// column entry goes to the input position it was copied from; padding entries are dropped.
  func accumulate(_ columns: UnsafePointer<Float>, leading: Int, into dx: UnsafeMutablePointer<Float>) {
    let inPlane = window.inputPlane
    let outPlane = window.outputPlane
    if let plane = Plane(window) {
      for ci in 0..<channels {
        let target = dx + ci * inPlane
        for kh in 0..<plane.kernelHeight {
          for kw in 0..<plane.kernelWidth {
            let row = columns + ((ci * plane.kernelHeight + kh) * plane.kernelWidth + kw) * leading
            plane.forEachRun(kh: kh, kw: kw) { oh, run in
              guard let run else { return }
              let source = row + oh * plane.outputWidth + run.lower
              let start = target + run.input
              let count = run.upper - run.lower
              if plane.strideWidth == 1 {  // contiguous on both sides: the compiler vectorises it
                for j in 0..<count { start[j] += source[j] }
              } else {
                for j in 0..<count { start[j * plane.strideWidth] += source[j] }
              }
            }
          }
        }
      }
      return
    }
    let kk = window.kernelCount
    window.patchMap().withUnsafeBufferPointer { map in
      guard let map = map.baseAddress else { return }
      for ci in 0..<channels {
        let target = dx + ci * inPlane
        for t in 0..<kk {
          let row = columns + (ci * kk + t) * leading
          let positions = map + t * outPlane
          for o in 0..<outPlane where positions[o] >= 0 { target[positions[o]] += row[o] }
        }
      }
    }
  }

  /// A two-dimensional window, walked one output row at a time.
  private struct Plane {
    let kernelHeight: Int, kernelWidth: Int
    let inputHeight: Int, inputWidth: Int
    let outputHeight: Int, outputWidth: Int
    let strideHeight: Int, strideWidth: Int
    let dilationHeight: Int, dilationWidth: Int
    let padTop: Int, padLeft: Int

    init?(_ w: SpatialWindow) {
      guard w.kernel.count == 2 else { return nil }
      (kernelHeight, kernelWidth) = (w.kernel[0], w.kernel[1])
      (inputHeight, inputWidth) = (w.input[0], w.input[1])
      (outputHeight, outputWidth) = (w.output[0], w.output[1])
      (strideHeight, strideWidth) = (w.strides[0], w.strides[1])
      (dilationHeight, dilationWidth) = (w.dilations[0], w.dilations[1])
      (padTop, padLeft) = (w.padBegin[0], w.padBegin[1])
    }

    /// The output columns [lower, upper) of one output row whose window position (kh, kw) lies
    /// inside the input, and the input offset (within the plane) of column `lower`.
    struct Run {
      let lower: Int, upper: Int, input: Int
    }

    /// Calls `body(oh, run)` for every output row; the run is nil when the row's window position
    /// lies in the top or bottom padding.
    @inline(__always)
    func forEachRun(kh: Int, kw: Int, _ body: (Int, Run?) -> Void) {
      let columnOffset = kw * dilationWidth - padLeft
      // iw = ow·stride + columnOffset must lie in [0, inputWidth).
      let lower = columnOffset >= 0 ? 0 : (-columnOffset + strideWidth - 1) / strideWidth
      let last = inputWidth - 1 - columnOffset
      let upper = last < 0 ? 0 : min(outputWidth, last / strideWidth + 1)
      for oh in 0..<outputHeight {
        let ih = oh * strideHeight - padTop + kh * dilationHeight
        guard ih >= 0, ih < inputHeight, lower < upper else {
          body(oh, nil)
          continue
        }
        body(oh, Run(lower: lower, upper: upper, input: ih * inputWidth + lower * strideWidth + columnOffset))
      }
    }
  }
}
