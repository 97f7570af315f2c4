/// A batch of samples as the backend calls take it.
///
/// One buffer per model input, each holding `count` samples of that input's element type, dense
/// and row-major. Borrowed, not owned: the owner keeps the memory alive while a call uses it.
public struct InputBatch: @unchecked Sendable {
  /// The model inputs the buffers are for, in call order.
  public let inputs: [ModelInput]
  /// Buffer k holds `count × inputs[k].sampleBytes` bytes.
  public let buffers: [UnsafeRawPointer]
  /// n, the number of samples.
  public let count: Int

  public init(inputs: [ModelInput], buffers: [UnsafeRawPointer], count: Int) {
    precondition(inputs.count == buffers.count, "one buffer per input")
    self.inputs = inputs
    self.buffers = buffers
    self.count = count
  }

  /// One float32 buffer of `count` samples for a model's only input.
  public init(_ input: ModelInput, floats: UnsafePointer<Float>, count: Int) {
    self.init(inputs: [input], buffers: [UnsafeRawPointer(floats)], count: count)
  }

  /// The samples `range` of this batch (no copy).
  public func samples(_ range: Range<Int>) -> InputBatch {
    precondition(range.lowerBound >= 0 && range.upperBound <= count, "sample range within the batch")
    return InputBatch(
      inputs: inputs,
      buffers: zip(inputs, buffers).map { input, buffer in buffer + range.lowerBound * input.sampleBytes },
      count: range.count)
  }
}

/// Owned samples for a model's inputs: one array per input, `count` samples each, at stable
/// 64-byte aligned addresses so `InputBatch` views can point into them.
public final class InputArrays: @unchecked Sendable {
  public let inputs: [ModelInput]
  public let count: Int
  private let owned: [UnsafeMutableRawPointer]

  /// Copies `bytes[k]`, which must hold `count × inputs[k].sampleBytes` bytes.
  public init(inputs: [ModelInput], count: Int, bytes: [[UInt8]]) {
    precondition(inputs.count == bytes.count, "one array per input")
    self.inputs = inputs
    self.count = count
    owned = zip(inputs, bytes).map { input, data in
      precondition(data.count == count * input.sampleBytes, "whole samples of the input")
      let buffer = UnsafeMutableRawPointer.allocate(byteCount: max(data.count, 1), alignment: 64)
      data.withUnsafeBytes { if let base = $0.baseAddress { buffer.copyMemory(from: base, byteCount: data.count) } }
      return buffer
    }
  }

  /// Samples of one float32 input.
  public convenience init(_ input: ModelInput, floats: [Float]) {
    precondition(input.elementType == .float32 && floats.count % input.sampleElements == 0)
    self.init(
      inputs: [input], count: floats.count / input.sampleElements, bytes: [floats.withUnsafeBytes { [UInt8]($0) }])
  }

  deinit {
    for buffer in owned { buffer.deallocate() }
  }

  /// All samples; valid while these arrays are alive.
  public var batch: InputBatch { InputBatch(inputs: inputs, buffers: owned.map { UnsafeRawPointer($0) }, count: count) }

  /// The samples `range`; valid while these arrays are alive.
  public func batch(_ range: Range<Int>) -> InputBatch { batch.samples(range) }
}
