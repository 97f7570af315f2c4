import ArrayIO
import Foundation

/// Assembles a kernel folder's verified tiles into `kernel.npy` (float32, the manifest's shape),
/// streaming one tile at a time, mirroring the tiles of a symmetric kernel.
public enum KernelMerge {
  /// Writes `DIR/kernel.npy` from `DIR/tiles/` and marks `kernel.json` complete.
  ///
  /// Refuses, naming them, when any tile is missing or fails its size/checksum check; the output
  /// is written to a temporary name and renamed, so a failed merge leaves no `kernel.npy`.
  /// - Returns: the updated manifest.
  @discardableResult
  public static func merge(directory: URL) throws -> KernelManifest {
    guard var manifest = try KernelManifest.read(directory: directory) else {
      throw KernelError.io(path: directory.appendingPathComponent(KernelManifest.fileName).path, reason: "no kernel.json: not a kernel folder")
    }
    let store = TileStore(directory: directory.appendingPathComponent("tiles"))
    var missing: [String] = []
    var corrupt: [String] = []
    for tile in manifest.grid.tiles {
      switch store.check(tile, expectedShape: manifest.tileShape(tile), keepData: false) {
      case .complete: continue
      case .missing: missing.append(tile.description)
      case .corrupt(let reason): corrupt.append("\(tile) (\(reason))")
      }
    }
    guard missing.isEmpty, corrupt.isEmpty else {
      throw KernelError.incompleteTiles(directory: directory.path, missing: missing, corrupt: corrupt)
    }
    let output = directory.appendingPathComponent(manifest.file)
    let temporary = AtomicFile.temporaryURL(for: output)
    let header = NPYHeader(dtype: .float32, shape: manifest.shape).encoded()
    guard FileManager.default.createFile(atPath: temporary.path, contents: header) else {
      throw KernelError.io(path: temporary.path, reason: "cannot create file")
    }
    do {
      let handle = try FileHandle(forWritingTo: temporary)
      defer { try? handle.close() }
      let layout = StoredLayout(manifest)
      try handle.truncate(atOffset: UInt64(header.count + manifest.shape.reduce(1, *) * 4))
      for tile in manifest.grid.tiles {
        // Checked above; a tile damaged since then is reported rather than merged.
        guard case .complete(let values?) = store.check(tile, expectedShape: manifest.tileShape(tile), keepData: true) else {
          throw KernelError.incompleteTiles(directory: directory.path, missing: [], corrupt: [tile.description])
        }
        let rows = manifest.grid.rowRange(tile)
        let columns = manifest.grid.columnRange(tile)
        try layout.write(values, rows: rows, columns: columns, handle: handle, dataOffset: header.count)
        if manifest.grid.symmetric && tile.row != tile.column {
          try layout.write(layout.transposed(values, rows: rows.count, columns: columns.count), rows: columns, columns: rows, handle: handle, dataOffset: header.count)
        }
      }
      try handle.synchronize()
      let mapped = try Data(contentsOf: temporary, options: .alwaysMapped)
      manifest.checksum = mapped.withUnsafeBytes { TileChecksum.of($0) }
      try AtomicFile.rename(temporary, to: output)
    } catch {
      try? FileManager.default.removeItem(at: temporary)
      if error is KernelError { throw error }
      throw KernelError.io(path: output.path, reason: "\(error)")
    }
    manifest.complete = true
    try manifest.write(directory: directory)
    return manifest
  }
}

/// A kernel's stored layout viewed as [outer, N, M, inner]: outer = L for `layers`, inner = C² for
/// `entk`, else 1; tiles use the same layout with their own N and M.
struct StoredLayout {
  let outer: Int
  let inner: Int
  let rows: Int
  let columns: Int
  /// C for `entk`, whose inner C×C blocks transpose along with the tile.
  let blockSide: Int

  init(_ manifest: KernelManifest) {
    outer = manifest.kind == .layers ? manifest.parameterGroups.count : 1
    blockSide = manifest.kind == .entk ? manifest.numOutputs : 1
    inner = blockSide * blockSide
    rows = manifest.grid.rows
    columns = manifest.grid.columns
  }

  /// Writes a tile (float32, [outer, r, s, inner]) at rows × columns of the kernel file.
  func write(_ values: [Float], rows tileRows: Range<Int>, columns tileColumns: Range<Int>, handle: FileHandle, dataOffset: Int) throws {
    let (r, s) = (tileRows.count, tileColumns.count)
    try values.withUnsafeBytes { raw in
      for o in 0..<outer {
        for i in 0..<r {
          let source = ((o * r + i) * s) * inner * 4
          let target = dataOffset + ((o * rows + tileRows.lowerBound + i) * columns + tileColumns.lowerBound) * inner * 4
          try handle.seek(toOffset: UInt64(target))
          try handle.write(contentsOf: UnsafeRawBufferPointer(rebasing: raw[source..<source + s * inner * 4]))
        }
      }
    }
  }

  /// The transpose of a tile of r × s samples: T[o, j, i, (d, c)] = K[o, i, j, (c, d)].
  func transposed(_ values: [Float], rows r: Int, columns s: Int) -> [Float] {
    var result = [Float](repeating: 0, count: values.count)
    let c = blockSide
    values.withUnsafeBufferPointer { k in
      result.withUnsafeMutableBufferPointer { t in
        for o in 0..<outer {
          for i in 0..<r {
            for j in 0..<s {
              let from = ((o * r + i) * s + j) * inner
              let to = ((o * s + j) * r + i) * inner
              for a in 0..<c { for b in 0..<c { t[to + b * c + a] = k[from + a * c + b] } }
            }
          }
        }
      }
    }
    return result
  }
}
