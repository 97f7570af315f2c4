/// The sliding-window geometry shared by convolution and pooling on one [C, H, W] sample, and
/// the im2col / col2im transforms that turn a convolution into one GEMM.
///
/// Column layout: row (c·kh + i)·kw + j, column oh·Wo + ow holds input[c, oh·sh − ph + i·dh,
/// ow·sw − pw + j·dw], or 0 where that falls in the padding.
struct ConvGeometry {
  let channels: Int, height: Int, width: Int
  let kernelH: Int, kernelW: Int
  let strideH: Int, strideW: Int
  let paddingH: Int, paddingW: Int
  let dilationH: Int, dilationW: Int

  var outputH: Int { (height + 2 * paddingH - dilationH * (kernelH - 1) - 1) / strideH + 1 }
  var outputW: Int { (width + 2 * paddingW - dilationW * (kernelW - 1) - 1) / strideW + 1 }
  /// Whether at least one window fits (the numerators above are non-negative).
  var isValid: Bool {
    height + 2 * paddingH - dilationH * (kernelH - 1) - 1 >= 0
      && width + 2 * paddingW - dilationW * (kernelW - 1) - 1 >= 0
  }
  var columnRows: Int { channels * kernelH * kernelW }
  var columnCount: Int { outputH * outputW }

  /// Writes the columns of one sample (columnRows × columnCount floats).
  func im2col(_ input: UnsafePointer<Float>, _ columns: UnsafeMutablePointer<Float>) {
    let (oh, ow) = (outputH, outputW)
    for c in 0..<channels {
      for i in 0..<kernelH {
        for j in 0..<kernelW {
          let row = columns + ((c * kernelH + i) * kernelW + j) * oh * ow
          for y in 0..<oh {
            let ih = y * strideH - paddingH + i * dilationH
            let out = row + y * ow
            guard ih >= 0, ih < height else {
              out.update(repeating: 0, count: ow)
              continue
            }
            let source = input + (c * height + ih) * width
            for x in 0..<ow {
              let iw = x * strideW - paddingW + j * dilationW
              out[x] = iw >= 0 && iw < width ? source[iw] : 0
            }
          }
        }
      }
    }
  }

  /// Adds the columns of one sample back onto its input positions (the adjoint of im2col).
  func col2im(_ columns: UnsafePointer<Float>, _ input: UnsafeMutablePointer<Float>) {
    let (oh, ow) = (outputH, outputW)
    for c in 0..<channels {
      for i in 0..<kernelH {
        for j in 0..<kernelW {
          let row = columns + ((c * kernelH + i) * kernelW + j) * oh * ow
          for y in 0..<oh {
            let ih = y * strideH - paddingH + i * dilationH
            guard ih >= 0, ih < height else { continue }
            let target = input + (c * height + ih) * width
            let source = row + y * ow
            for x in 0..<ow {
              let iw = x * strideW - paddingW + j * dilationW
              if iw >= 0 && iw < width { target[iw] += source[x] }
            }
          }
        }
      }
    }
  }
}
