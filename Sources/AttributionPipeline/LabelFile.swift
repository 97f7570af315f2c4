import ArrayIO
import Foundation
import Surrogate

/// A file of integer class labels (.npy, .csv), read and checked by the one rule every command
/// uses: one dimension ([N], or [N, 1] as a one-column CSV reads), integers only (a NaN or a fraction is refused), one label per point and
/// each in 0..<C (`ClassLabels.validate`).
public struct LabelFile {
  /// The path as given.
  public let path: String
  /// The labels.
  public let values: [Int]
  /// The array's shape, [values.count].
  public var shape: [Int] { [values.count] }

  /// Reads the labels at `path`; with `count` and `classCount`, checks them against both.
  /// - Throws: `NPYError`/`CSVError` for a file that cannot be read or holds a non-integer,
  ///   `SurrogateError.labelShape` for more than one column, `SurrogateError.labelCount` and
  ///   `.labelOutOfRange` from `check`.
  public init(path: String, count: Int? = nil, classCount: Int? = nil) throws {
    let array = try ArrayFile.read(URL(fileURLWithPath: path))
    guard array.shape.count == 1 || (array.shape.count == 2 && array.shape[1] == 1) else {
      throw SurrogateError.labelShape(name: path, shape: array.shape)
    }
    self.path = path
    values = try array.int64Values(path: path).map { Int($0) }
    if let count { try check(count: count, classCount: classCount) }
  }

  /// Checks that there are `count` labels, each in 0..<classCount when that is known.
  public func check(count: Int, classCount: Int?) throws {
    try ClassLabels.validate(values, count: count, classCount: classCount ?? Int.max, name: path)
  }

  /// The labels as int64, what backends train on and bundles store.
  public var int64Values: [Int64] { values.map { Int64($0) } }
}
