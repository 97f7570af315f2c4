// modules: ArrayIO BackendLoader Kernels
import Foundation
import Kernels

/// `entk merge` on a kernel folder made from the input: part 0 is kernel.json, then a sidecar
/// and a tile `.npy` for each tile of the grid, in the grid's order. Refusals are expected; a
/// trap, an overflow or a leftover temporary file is a finding.
func fuzz(_ bytes: [UInt8]) {
  let parts = FuzzInput.parts(bytes)
  let folder = FuzzInput.freshFolder()
  let tiles = folder.appendingPathComponent("tiles")
  try? FileManager.default.createDirectory(at: tiles, withIntermediateDirectories: true)
  try? Data(parts[0]).write(to: folder.appendingPathComponent("kernel.json"))
  // The harness names tile files only for manifests entk accepts (an unchecked grid is what
  // merge must never compute with) and small grids (a tile needs two parts anyway).
  if let manifest = try? JSONDecoder().decode(KernelManifest.self, from: Data(parts[0])),
    (try? manifest.check(path: "kernel.json")) != nil,
    manifest.grid.rowTiles * manifest.grid.columnTiles <= 64
  {
    for (index, tile) in manifest.grid.tiles.enumerated() where 2 + 2 * index < parts.count {
      try? Data(parts[1 + 2 * index]).write(to: tiles.appendingPathComponent(tile.fileStem + ".json"))
      try? Data(parts[2 + 2 * index]).write(to: tiles.appendingPathComponent(tile.fileStem + ".npy"))
    }
  }
  let merged = (try? KernelMerge.merge(directory: folder)) != nil
  let names = (try? FileManager.default.subpathsOfDirectory(atPath: folder.path)) ?? []
  if let temporary = names.first(where: { $0.contains(".tmp-") }) {
    fatalError("merge left \(temporary) behind")
  }
  if !merged && names.contains("kernel.npy") && parts.count > 0 {
    // A failed merge must not leave a kernel.npy it wrote (none existed before).
    fatalError("a failed merge left kernel.npy")
  }
}
