import ArrayIO
import BackendLoader
import Foundation

/// Input samples for one side of a kernel: one array per model input, `count` samples each, in the
/// element type the input takes (float32 checked finite, integers as given).
public struct SampleSet: Sendable {
  /// A name for messages and `kernel.json` (the data source as the user gave it).
  public let name: String
  public let count: Int
  /// The model inputs the arrays are for, in the backend's call order.
  public let inputs: [ModelInput]
  /// The samples' arrays, in the element types of `inputs`.
  public let arrays: InputArrays

  /// Samples of one float32 input; checks that every value is finite.
  public init(name: String, values: [Float], input: ModelInput) throws {
    precondition(input.elementType == .float32 && values.count % input.sampleElements == 0)
    if let bad = values.firstIndex(where: { !$0.isFinite }) {
      throw NPYError.nonFinite(path: name, index: bad)
    }
    self.name = name
    count = values.count / input.sampleElements
    inputs = [input]
    arrays = InputArrays(input, floats: values)
  }

  private init(name: String, arrays: InputArrays) {
    self.name = name
    count = arrays.count
    inputs = arrays.inputs
    self.arrays = arrays
  }

  /// The values, when the samples are of one float32 input (count × input size, row-major).
  public var floatValues: [Float]? {
    guard inputs.count == 1, inputs[0].elementType == .float32 else { return nil }
    let pointer = batch.buffers[0].assumingMemoryBound(to: Float.self)
    return Array(UnsafeBufferPointer(start: pointer, count: count * inputs[0].sampleElements))
  }

  /// All samples as the backend calls take them; valid while this set is alive.
  public var batch: InputBatch { arrays.batch }

  /// The samples `range`; valid while this set is alive.
  public func batch(_ range: Range<Int>) -> InputBatch { arrays.batch(range) }

  /// Reads the samples for `inputs` from `source` (see `matching`).
  public static func read(_ source: DataSource, inputs: [ModelInput]) throws -> SampleSet {
    try matching(source.arrays(), from: source, inputs: inputs)
  }

  /// The samples for `inputs` from `arrays`, read from `source`: an array per input with shape
  /// [N, ...] holding the input's elements per sample (so [N, 1, 8, 8] data fits a [64] input),
  /// N ≥ 1 and the same for every input, in a type that converts without loss.
  ///
  /// A `.npz` supplies arrays by input name (a one-input model also takes an archive of one array
  /// under any name); a plain `.npy`/`.csv` file feeds a one-input model; NAME=FILE names only
  /// inputs of the model.
  public static func matching(_ arrays: [DataSource.NamedArray], from source: DataSource, inputs: [ModelInput])
    throws -> SampleSet
  {
    var matched: [(input: ModelInput, path: String, array: NPYArray)] = []
    let names = arrays.compactMap(\.name)
    switch source {
    case .file(let url) where url.pathExtension.lowercased() != "npz":
      guard inputs.count == 1 else { throw SampleDataError.needsNamedInputs(path: url.path, inputs: inputs) }
    case .named(let files):
      for file in files where !inputs.contains(where: { $0.name == file.name }) {
        throw SampleDataError.unknownInput(name: file.name, inputs: inputs)
      }
    case .file: break
    }
    for input in inputs {
      if let entry = arrays.first(where: { $0.name == input.name })
        ?? (inputs.count == 1 && arrays.count == 1 ? arrays.first : nil)
      {
        matched.append((input, entry.label, entry.array))
      } else {
        throw SampleDataError.missingInput(source: source.description, input: input, available: names)
      }
    }
    var count: Int?
    var first = ""
    var data: [[UInt8]] = []
    for (input, path, array) in matched {
      guard array.shape.count >= 2, array.shape[0] >= 1, array.shape.dropFirst().reduce(1, *) == input.sampleElements
      else {
        throw SampleDataError.sampleShape(path: path, input: input, shape: array.shape)
      }
      if let count, count != array.shape[0] {
        throw SampleDataError.countsDiffer(first: first, firstCount: count, second: path, secondCount: array.shape[0])
      }
      (count, first) = (array.shape[0], path)
      data.append(try converted(array, for: input, path: path))
    }
    return SampleSet(
      name: source.description, arrays: InputArrays(inputs: inputs, count: count ?? 0, bytes: data))
  }

  /// The array's elements in the input's element type, when that changes no value's meaning:
  /// floats for float32 (finite), integers widened or range-checked for int32/int64, 0/1 for bool.
  private static func converted(_ array: NPYArray, for input: ModelInput, path: String) throws -> [UInt8] {
    func invalid(_ index: Int, _ value: String) -> SampleDataError {
      .invalidValue(path: path, input: input, index: index, value: value)
    }
    let isFloat = array.dtype == .float32 || array.dtype == .float64
    guard isFloat == (input.elementType == .float32) else {
      throw SampleDataError.elementType(path: path, input: input, dtype: array.dtype.name)
    }
    switch input.elementType {
    case .float32:
      let values = array.float32Values()
      if let bad = values.firstIndex(where: { !$0.isFinite }) { throw NPYError.nonFinite(path: path, index: bad) }
      return values.withUnsafeBytes { [UInt8]($0) }
    case .int64:
      return try array.int64Values(path: path).withUnsafeBytes { [UInt8]($0) }
    case .int32:
      let values = try array.int64Values(path: path)
      if let bad = values.firstIndex(where: { Int32(exactly: $0) == nil }) { throw invalid(bad, "\(values[bad])") }
      return values.map { Int32($0) }.withUnsafeBytes { [UInt8]($0) }
    case .bool:
      let values = try array.int64Values(path: path)
      if let bad = values.firstIndex(where: { $0 != 0 && $0 != 1 }) { throw invalid(bad, "\(values[bad])") }
      return values.map { UInt8($0) }
    }
  }

  /// FNV-1a checksum of every input's bytes in order, recorded in `kernel.json` so a resumed run
  /// cannot mix data (for one float32 input: the checksum of the float values).
  public var checksum: String {
    var checksum = TileChecksum()
    let raw = batch
    for (input, buffer) in zip(raw.inputs, raw.buffers) {
      checksum.update(UnsafeRawBufferPointer(start: buffer, count: count * input.sampleBytes))
    }
    return checksum.text
  }
}
