import ArrayIO
import Foundation
import Kernels
import Reporter

/// The samples `entk attribute` is given for one role (`--train` or `--test`), as the user named
/// them: read for the manifest and row counts, copied into the bundle when they are one float
/// array (pictures), and read against the model's inputs when logits are computed.
struct AttributeSamples {
  /// "train" or "test".
  let role: String
  let source: DataSource
  /// Every array with the model input it names (nil for a plain file) and its file.
  let arrays: [(input: String?, path: String, array: NPYArray)]

  init(role: String, arguments: [String]) throws {
    self.role = role
    source = try DataSource(arguments: arguments)
    switch source {
    case .file(let url) where url.pathExtension.lowercased() == "npz":
      arrays = try NPZFile.read(url).map { ($0.name, url.path, $0.array) }
    case .file(let url):
      arrays = [(nil, url.path, try ArrayFile.read(url))]
    case .named(let files):
      arrays = try files.map { ($0.name, $0.file.path, try ArrayFile.read($0.file)) }
    }
  }

  /// Checks that every array has one row per point of the kernel.
  func checkCount(_ expected: Int) throws {
    for (_, path, array) in arrays where array.shape.first != expected {
      throw AttributeError.rowCount(
        path: path, expected: expected, actual: array.shape.first ?? 0,
        meaning: "one row per \(role) point in the kernel")
    }
  }

  /// The samples as one float32 array, when they are one array of floats (images, features).
  ///
  /// What the bundle keeps for pictures. Integer arrays (token ids) and several arrays give nil.
  func pictures() throws -> NPYArray? {
    guard arrays.count == 1, let (_, path, array) = arrays.first, [.float32, .float64].contains(array.dtype) else {
      return nil
    }
    let values = array.float32Values()
    if let bad = values.firstIndex(where: { !$0.isFinite }) { throw NPYError.nonFinite(path: path, index: bad) }
    return NPYArray(float32: values, shape: array.shape)
  }

  /// One manifest record per array.
  func records() throws -> [Manifest.DataRecord] {
    try arrays.map { input, path, array in
      Manifest.DataRecord(
        role: "\(role)-inputs", path: path, sha256: try SHA256.hex(fileAt: URL(fileURLWithPath: path)),
        shape: array.shape, input: input)
    }
  }
}
