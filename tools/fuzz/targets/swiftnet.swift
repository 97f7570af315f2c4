// modules: SwiftNetBackend
import Foundation

@testable import SwiftNetBackend

/// A swiftnet model folder: part 0 is model.json; each further part is a tensor file, its name
/// on the first line ("0.weight.npy") and its bytes after it. The folder is opened as the
/// backend's `open` does, from the tensors and from a seed (with every convolution a sum over its
/// positions).
func fuzz(_ bytes: [UInt8]) {
  let parts = FuzzInput.parts(bytes)
  let folder = FuzzInput.freshFolder()
  try? Data(parts[0]).write(to: folder.appendingPathComponent("model.json"))
  for part in parts.dropFirst() {
    guard let newline = part.firstIndex(of: 10) else { continue }
    let name = String(decoding: part[..<newline], as: UTF8.self)
    // Names stay inside the folder: the harness, not entk, chooses where fuzz bytes go.
    guard !name.isEmpty, name != ".", name != "..", !name.contains("/"), !name.contains("\0") else { continue }
    try? Data(part[(newline + 1)...]).write(to: folder.appendingPathComponent(name))
  }
  _ = try? ModelFolder.open(folder.path, initSeed: nil, convolutionFactoring: .auto)
  _ = try? ModelFolder.open(folder.path, initSeed: 1, convolutionFactoring: .always)
}
