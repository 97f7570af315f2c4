import Foundation

/// Reads a data file by its extension: `.npy` through `NPYFile`, `.csv` through `CSVFile`.
public enum ArrayFile {
  public static func read(_ url: URL) throws -> NPYArray {
    url.pathExtension.lowercased() == "csv" ? try CSVFile.read(url) : try NPYFile.read(url)
  }

  /// Reads float32 samples and checks they are finite; `path` names the file in errors.
  public static func readFiniteFloat32(_ url: URL) throws -> NPYArray {
    let array = try read(url)
    let values = array.float32Values()
    if let bad = values.firstIndex(where: { !$0.isFinite }) {
      throw NPYError.nonFinite(path: url.path, index: bad)
    }
    return NPYArray(float32: values, shape: array.shape)
  }
}
