import ArgumentParser
import Foundation
import Kernels

struct MergeCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "merge",
    abstract: "Assemble a kernel folder's tiles into kernel.npy.",
    discussion: """
      Verifies every tile of DIR/kernel.json's grid against its sidecar (size and checksum) and \
      refuses, naming them, if any is missing or corrupt. Tiles (and the feature blocks a plan stored) are kept unless --remove-tiles.
      """)

  @Argument(help: "Kernel folder written by `entk kernel`.") var directory: String
  @Flag(name: .customLong("remove-tiles"), help: "Delete DIR/tiles and DIR/features after a successful merge.")
  var removeTiles = false
  @Flag(help: "Print a JSON summary on stdout.") var json = false

  struct Summary: Encodable {
    var file: String
    var shape: [Int]
    var checksum: String?
    var tiles: Int
  }

  func run() throws {
    let url = URL(fileURLWithPath: directory)
    let manifest = try KernelMerge.merge(directory: url)
    if removeTiles {
      for folder in ["tiles", "features"] {
        try? FileManager.default.removeItem(at: url.appendingPathComponent(folder))
      }
    }
    let file = url.appendingPathComponent(manifest.file).path
    if json {
      try printJSON(
        Summary(file: file, shape: manifest.shape, checksum: manifest.checksum, tiles: manifest.grid.tiles.count))
    } else {
      printError("merge: wrote \(file) \(manifest.shape) from \(manifest.grid.tiles.count) tiles")
    }
  }
}
