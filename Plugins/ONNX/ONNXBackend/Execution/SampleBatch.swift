/// A reverse pass over several samples at once (`Interpreter.gradients`).
///
/// The forward values in `values` hold `samples` samples along axis 0, each a contiguous block
/// (`BatchProbe`); their stacked gradients are [rows] + that shape. The other values (weights,
/// weights rearranged, constants, position ids) are the same for every sample, but their
/// gradients are per sample: stacked [samples · rows] + shape, sample b's rows at b · rows.
public struct SampleBatch: Sendable {
  public let samples: Int
  public let values: Set<String>

  public init(samples: Int, values: Set<String>) {
    self.samples = samples
    self.values = values
  }
}

extension Tensor {
  /// Sample `b` of a value holding `samples` contiguous samples along axis 0.
  func sample(_ b: Int, of samples: Int) throws(ONNXError) -> Tensor {
    guard let first = shape.first, first % samples == 0 else {
      throw .shapeMismatch("a value of shape \(shape) does not hold \(samples) samples along its first axis")
    }
    return slice(b * (count / samples), count: count / samples, shape: [first / samples] + shape.dropFirst())
  }

  /// Sample `b` of each of the `rows` rows of a stacked gradient ([rows] + value shape) whose
  /// value holds `samples` samples: [rows] + the sample's shape.
  func stackedSample(_ b: Int, of samples: Int, rows: Int) throws(ONNXError) -> Tensor {
    guard shape.count >= 2, shape[0] == rows, shape[1] % samples == 0, case .float(let v) = elements else {
      throw .shapeMismatch("a stacked gradient of shape \(shape) does not hold \(rows) rows of \(samples) samples")
    }
    let own = count / rows / samples
    var values = [Float](repeating: 0, count: rows * own)
    for r in 0..<rows {
      let from = (r * samples + b) * own
      values.withUnsafeMutableBufferPointer { values in
        for j in 0..<own { values[r * own + j] = v[from + j] }
      }
    }
    return Tensor(shape: [rows, shape[1] / samples] + shape.dropFirst(2), floats: values)
  }

  /// `count` consecutive elements from `start`, as a tensor of `shape`.
  private func slice(_ start: Int, count: Int, shape newShape: [Int]) -> Tensor {
    switch elements {
    case .float(let v): return Tensor(shape: newShape, floats: Array(v[start..<(start + count)]))
    case .int64(let v): return Tensor(shape: newShape, ints: Array(v[start..<(start + count)]))
    case .bool(let v): return Tensor(shape: newShape, bools: Array(v[start..<(start + count)]))
    }
  }
}
