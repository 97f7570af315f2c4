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
      throw KernelError.io(
        path: directory.appendingPathComponent(KernelManifest.fileName).path,
        reason: "no kernel.json: not a kernel folder")
    }
    let store = TileStore(directory: directory.appendingPathComponent("tiles"))
    let output = directory.appendingPathComponent(manifest.file)
    if manifest.complete && FileManager.default.fileExists(atPath: output.path)
      && !FileManager.default.fileExists(atPath: store.directory.path)
    {
      return manifest  // merged earlier by a whole-kernel run, which removed its tiles
    }
    let temporary = AtomicFile.temporaryURL(for: output)
    let tiles = manifest.grid.tiles
    if tiles.count == 1, manifest.tileShape(tiles[0]) == manifest.shape {
      // A one-tile kernel is its tile, byte for byte: verify it and link it into place.
      switch store.check(tiles[0], of: manifest, keepData: false) {
      case .complete: break
      case .missing:
        throw KernelError.incompleteTiles(directory: directory.path, missing: [tiles[0].description], corrupt: [])
      case .corrupt(let reason):
        throw KernelError.incompleteTiles(directory: directory.path, missing: [], corrupt: ["\(tiles[0]) (\(reason))"])
      }
      // `check` just decoded this sidecar; only a concurrent writer could make it unreadable now.
      guard
        let sidecar = try? JSONDecoder().decode(TileSidecar.self, from: Data(contentsOf: store.sidecarURL(tiles[0])))
      else {
        throw KernelError.incompleteTiles(
          directory: directory.path, missing: [], corrupt: ["\(tiles[0]) (sidecar changed)"])
      }
      manifest.checksum = sidecar.checksum
      try? FileManager.default.removeItem(at: temporary)
      do {
        try FileManager.default.linkItem(at: store.tileURL(tiles[0]), to: temporary)
        try AtomicFile.rename(temporary, to: output)
      } catch {
        try? FileManager.default.removeItem(at: temporary)
        throw KernelError.io(path: output.path, error)
      }
    } else {
      try mergeTiles(manifest: manifest, store: store, into: temporary, directory: directory)
      do {
        let mapped = try Data(contentsOf: temporary, options: .alwaysMapped)
        manifest.checksum = mapped.withUnsafeBytes { TileChecksum.of($0) }
        try AtomicFile.rename(temporary, to: output)
      } catch {
        try? FileManager.default.removeItem(at: temporary)
        throw KernelError.io(path: output.path, error)
      }
    }
    manifest.complete = true
    try manifest.write(directory: directory)
    return manifest
  }

  /// Writes every tile (and the mirror of each off-diagonal tile of a symmetric kernel) into a new
  /// `temporary` file, verifying each tile once as it is read; on any missing or corrupt tile it
  /// still checks the rest, removes `temporary` and throws the full list.
  private static func mergeTiles(manifest: KernelManifest, store: TileStore, into temporary: URL, directory: URL) throws
  {
    let header = NPYHeader(dtype: .float32, shape: manifest.shape).encoded()
    guard FileManager.default.createFile(atPath: temporary.path, contents: header) else {
      throw KernelError.io(path: temporary.path, reason: "cannot create file")
    }
    var missing: [String] = []
    var corrupt: [String] = []
    do {
      let handle = try FileHandle(forWritingTo: temporary)
      defer { try? handle.close() }
      let layout = StoredLayout(manifest)
      try handle.truncate(atOffset: UInt64(header.count + manifest.shape.reduce(1, *) * 4))
      for tile in manifest.grid.tiles {
        switch store.check(tile, of: manifest, keepData: missing.isEmpty && corrupt.isEmpty)
        {
        case .missing: missing.append(tile.description)
        case .corrupt(let reason): corrupt.append("\(tile) (\(reason))")
        case .complete(nil): continue
        case .complete(let values?):
          let rows = manifest.grid.rowRange(tile)
          let columns = manifest.grid.columnRange(tile)
          try layout.write(values, rows: rows, columns: columns, handle: handle, dataOffset: header.count)
          if manifest.grid.symmetric && tile.row != tile.column {
            try layout.write(
              layout.transposed(values, rows: rows.count, columns: columns.count), rows: columns, columns: rows,
              handle: handle,
              dataOffset: header.count)
          }
        }
      }
    } catch {
      try? FileManager.default.removeItem(at: temporary)
      throw KernelError.io(path: temporary.path, error)
    }
    guard missing.isEmpty, corrupt.isEmpty else {
      try? FileManager.default.removeItem(at: temporary)
      throw KernelError.incompleteTiles(directory: directory.path, missing: missing, corrupt: corrupt)
    }
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
  func write(
    _ values: [Float], rows tileRows: Range<Int>, columns tileColumns: Range<Int>, handle: FileHandle, dataOffset: Int
  ) throws {
    let (r, s) = (tileRows.count, tileColumns.count)
    try values.withUnsafeBytes { raw in
      for o in 0..<outer {
        for i in 0..<r {
          let source = ((o * r + i) * s) * inner * 4
          let target =
            dataOffset + ((o * rows + tileRows.lowerBound + i) * columns + tileColumns.lowerBound) * inner * 4
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
