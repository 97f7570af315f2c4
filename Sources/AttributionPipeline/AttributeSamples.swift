import ArrayIO
import BackendLoader
import Foundation
import Kernels
import Reporter

/// The samples an attribution is given for one role (`--train` or `--test`), as the user named
/// them: read for the manifest and row counts, copied into the bundle when they are one float
/// array (pictures), and read against the model's inputs when logits are computed.
struct AttributeSamples {
  /// "train" or "test".
  let role: String
  let source: DataSource
  /// Every array, with the model input it names (nil for a plain file) and its file.
  let arrays: [DataSource.NamedArray]

  init(role: String, arguments: [String]) throws {
    self.role = role
    source = try DataSource(arguments: arguments)
    arrays = try source.arrays()
  }

  /// The samples for a model's `inputs`, from the arrays already read.
  func samples(for inputs: [ModelInput]) throws -> SampleSet {
    try SampleSet.matching(arrays, from: source, inputs: inputs)
  }

  /// The rows of the first array (every array has as many; see `checkCount`).
  var rowCount: Int { arrays.first?.array.shape.first ?? 0 }

  /// Checks that every array has one row per point of the kernel.
  func checkCount(_ expected: Int) throws {
    for entry in arrays where entry.array.shape.first != expected {
      throw AttributeError.rowCount(
        path: entry.file.path, expected: expected, actual: entry.array.shape.first ?? 0,
        meaning: "one row per \(role) point in the kernel")
    }
  }

  /// The samples as one float32 array, when they are one array of floats (images, features).
  ///
  /// What the bundle keeps for pictures. Integer arrays (token ids) and several arrays give nil.
  func pictures() throws -> NPYArray? {
    guard arrays.count == 1, let entry = arrays.first, [.float32, .float64].contains(entry.array.dtype) else {
      return nil
    }
    let values = entry.array.float32Values()
    if let bad = values.firstIndex(where: { !$0.isFinite }) {
      throw NPYError.nonFinite(path: entry.file.path, index: bad)
    }
    return NPYArray(float32: values, shape: entry.array.shape)
  }

  /// One manifest record per array.
  func records() throws -> [Manifest.DataRecord] {
    try arrays.map { entry in
      Manifest.DataRecord(
        role: "\(role)-inputs", path: entry.file.path, sha256: try SHA256.hex(fileAt: entry.file),
        shape: entry.array.shape, input: entry.name)
    }
  }
}
