import COpenBLAS

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

  /// For kernel column j: the output columns x whose input column x·sw − pw + j·dw lies inside
  /// the image (the rest fall in the padding), and that input column's offset at x = 0.
  private func validColumns(_ j: Int) -> (range: Range<Int>, offset: Int) {
    let offset = j * dilationW - paddingW
    let low = offset >= 0 ? 0 : (-offset + strideW - 1) / strideW
    let high = width - 1 - offset >= 0 ? min(outputW, (width - 1 - offset) / strideW + 1) : 0
    return (low..<max(low, high), offset)
  }

  /// Writes the columns of one sample (columnRows × columnCount floats).
  ///
  /// Each row segment is one strided BLAS copy; padding positions are zero.
  func im2col(_ input: UnsafePointer<Float>, _ columns: UnsafeMutablePointer<Float>) {
    let (oh, ow) = (outputH, outputW)
    let valid = (0..<kernelW).map(validColumns)
    for c in 0..<channels {
      for i in 0..<kernelH {
        for j in 0..<kernelW {
          let row = columns + ((c * kernelH + i) * kernelW + j) * oh * ow
          let (range, offset) = valid[j]
          for y in 0..<oh {
            let ih = y * strideH - paddingH + i * dilationH
            let out = row + y * ow
            guard ih >= 0, ih < height, !range.isEmpty else {
              out.update(repeating: 0, count: ow)
              continue
            }
            out.update(repeating: 0, count: range.lowerBound)
            (out + range.upperBound).update(repeating: 0, count: ow - range.upperBound)
            let source = input + (c * height + ih) * width + offset + range.lowerBound * strideW
            cblas_scopy(Int32(range.count), source, Int32(strideW), out + range.lowerBound, 1)
          }
        }
      }
    }
  }

  /// Adds the columns of one sample back onto its input positions (the adjoint of im2col).
  ///
  /// Each row segment is one strided BLAS axpy.
  func col2im(_ columns: UnsafePointer<Float>, _ input: UnsafeMutablePointer<Float>) {
    let (oh, ow) = (outputH, outputW)
    let valid = (0..<kernelW).map(validColumns)
    for c in 0..<channels {
      for i in 0..<kernelH {
        for j in 0..<kernelW {
          let row = columns + ((c * kernelH + i) * kernelW + j) * oh * ow
          let (range, offset) = valid[j]
          guard !range.isEmpty else { continue }
          for y in 0..<oh {
            let ih = y * strideH - paddingH + i * dilationH
            guard ih >= 0, ih < height else { continue }
            let target = input + (c * height + ih) * width + offset + range.lowerBound * strideW
            cblas_saxpy(Int32(range.count), 1, row + y * ow + range.lowerBound, 1, target, Int32(strideW))
          }
        }
      }
    }
  }
}
