// modules: ArrayIO
import ArrayIO
import Foundation

/// `.npy`, `.npz`, `.csv` and text-lines readers: every input is decoded as each; any outcome but
/// a value or a thrown error (a trap, an out-of-bounds access) is a finding.
func fuzz(_ bytes: [UInt8]) {
  let data = Data(bytes)
  if let array = try? NPYFile.decode(data, path: "fuzz.npy") {
    // What callers do next: convert the values and take integer views.
    _ = array.float32Values()
    _ = array.float64Values()
    _ = try? array.int64Values(path: "fuzz.npy")
  }
  if let arrays = try? NPZFile.decode(data, path: "fuzz.npz") {
    for (_, array) in arrays { _ = array.float64Values() }
  }
  if let array = try? CSVFile.parse(String(decoding: bytes, as: UTF8.self), path: "fuzz.csv") {
    _ = array.float32Values()
  }
  _ = try? TextLinesFile.parse(data, path: "fuzz.txt")
}
