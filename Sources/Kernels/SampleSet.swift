import ArrayIO
import Foundation

/// Input samples for one side of a kernel: float32, row-major, `count` × `sampleSize`.
public struct SampleSet: Sendable {
  /// A name for messages (usually the file path).
  public let name: String
  public let values: [Float]
  public let count: Int
  /// Floats per sample (the model's input size).
  public let sampleSize: Int

  /// Checks that every value is finite and that the array holds whole samples of `sampleSize`.
  public init(name: String, values: [Float], count: Int, sampleSize: Int) throws {
    precondition(values.count == count * sampleSize)
    if let bad = values.firstIndex(where: { !$0.isFinite }) {
      throw NPYError.nonFinite(path: name, index: bad)
    }
    self.name = name
    self.values = values
    self.count = count
    self.sampleSize = sampleSize
  }

  /// Reads `.npy`/`.csv` samples whose shape is [N, ...] with `inputShape`'s product of values per
  /// sample (so [N, 1, 8, 8] data fits a [64] model), N ≥ 1, all values finite.
  public static func read(_ url: URL, inputShape: [Int]) throws -> SampleSet {
    let array = try ArrayFile.read(url)  // finiteness is checked by init
    let sampleSize = inputShape.reduce(1, *)
    guard array.shape.count >= 2, array.shape[0] >= 1, array.shape.dropFirst().reduce(1, *) == sampleSize else {
      throw KernelError.sampleShape(path: url.path, shape: array.shape, modelInput: inputShape)
    }
    return try SampleSet(name: url.path, values: array.float32Values(), count: array.shape[0], sampleSize: sampleSize)
  }

  /// FNV-1a checksum of the values, recorded in `kernel.json` so a resumed run cannot mix data.
  public var checksum: String { TileChecksum.of(values.withUnsafeBytes { UnsafeRawBufferPointer($0) }) }
}
