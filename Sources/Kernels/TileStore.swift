import Foundation

/// The sidecar written next to a finished tile: the tile is complete exactly when its sidecar
/// exists and the tile file has this size and checksum.
public struct TileSidecar: Codable, Equatable, Sendable {
  public var tile: TileIndex
  /// Sample rows and columns of the kernel the tile covers (half-open ranges as [start, end]).
  public var rows: [Int]
  public var columns: [Int]
  /// Shape of the tile's `.npy` (the kernel's stored layout with the tile's own N and M).
  public var shape: [Int]
  /// Size of the whole `.npy` file in bytes.
  public var bytes: Int
  /// `TileChecksum` of the whole `.npy` file.
  public var checksum: String
}

/// The `tiles/` folder of a kernel directory: one float32 `.npy` per tile plus a JSON sidecar,
/// each written to a temporary name and renamed, the sidecar last.
public struct TileStore: Sendable {
  public let directory: URL

  public init(directory: URL) { self.directory = directory }

  public func tileURL(_ tile: TileIndex) -> URL { directory.appendingPathComponent(tile.fileStem + ".npy") }
  public func sidecarURL(_ tile: TileIndex) -> URL { directory.appendingPathComponent(tile.fileStem + ".json") }

  /// Writes a finished tile (float32 values in `shape`) and then its sidecar, both atomically.
  public func write(
    _ tile: TileIndex, rows: Range<Int>, columns: Range<Int>, shape: [Int], values: UnsafeBufferPointer<Float>
  ) throws {
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    let (bytes, checksum) = try ChecksummedArray.write(values, shape: shape, to: tileURL(tile), what: "tile")
    let sidecar = TileSidecar(
      tile: tile, rows: [rows.lowerBound, rows.upperBound], columns: [columns.lowerBound, columns.upperBound],
      shape: shape, bytes: bytes, checksum: checksum)
    try AtomicFile.write([try KernelManifest.encoder.encode(sidecar)], to: sidecarURL(tile))
  }

  /// Whether the tile of `manifest`'s grid is finished: sidecar present, file matching it.
  public func isComplete(_ tile: TileIndex, of manifest: KernelManifest) -> Bool {
    if case .complete = check(tile, of: manifest, keepData: false) { return true }
    return false
  }

  /// A tile's state on disk.
  public enum Status {
    /// Finished and verified; the float32 values when asked for.
    case complete([Float]?)
    /// Neither the tile nor its sidecar exists.
    case missing
    /// Present but unfinished or damaged, with the reason.
    case corrupt(String)
  }

  /// Verifies a tile of `manifest`'s grid against its sidecar (sample ranges, shape, size,
  /// checksum) and the sidecar against the grid; with `keepData` returns its values.
  public func check(_ tile: TileIndex, of manifest: KernelManifest, keepData: Bool) -> Status {
    let expectedShape = manifest.tileShape(tile)
    let (rows, columns) = (manifest.grid.rowRange(tile), manifest.grid.columnRange(tile))
    let fileManager = FileManager.default
    let hasTile = fileManager.fileExists(atPath: tileURL(tile).path)
    guard let sidecarData = try? Data(contentsOf: sidecarURL(tile)) else {
      return hasTile ? .corrupt("no sidecar (the tile was not finished)") : .missing
    }
    guard let sidecar = try? JSONDecoder().decode(TileSidecar.self, from: sidecarData), sidecar.tile == tile else {
      return .corrupt("unreadable sidecar")
    }
    guard sidecar.rows == [rows.lowerBound, rows.upperBound],
      sidecar.columns == [columns.lowerBound, columns.upperBound]
    else {
      return .corrupt(
        "sidecar covers rows \(sidecar.rows) and columns \(sidecar.columns), the grid says \(rows) and \(columns)")
    }
    guard sidecar.shape == expectedShape else { return .corrupt("shape \(sidecar.shape), expected \(expectedShape)") }
    let data: Data
    let offset: Int
    switch ChecksummedArray.read(tileURL(tile), bytes: sidecar.bytes, checksum: sidecar.checksum, shape: expectedShape)
    {
    case .success(let file): (data, offset) = file
    case .failure(.missing): return .corrupt("tile file missing")
    case .failure(.size(let size)): return .corrupt("\(size) bytes, sidecar says \(sidecar.bytes)")
    case .failure(.checksum(let checksum)): return .corrupt("checksum \(checksum), sidecar says \(sidecar.checksum)")
    case .failure(.header): return .corrupt("header does not match the sidecar")
    }
    guard keepData else { return .complete(nil) }
    let values = [Float](unsafeUninitializedCapacity: expectedShape.reduce(1, *)) { buffer, count in
      data.withUnsafeBytes { raw in
        UnsafeMutableRawBufferPointer(buffer).copyMemory(from: UnsafeRawBufferPointer(rebasing: raw[offset...]))
      }
      count = buffer.count
    }
    return .complete(values)
  }

  /// Removes temporary files ("NAME.tmp-PID") left by killed runs, keeping those of live processes
  /// (a plan's tiles may be running concurrently in the same folder).
  public func removeStaleTemporaries() {
    let names = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
    for name in names {
      guard let marker = name.range(of: ".tmp-", options: .backwards), let pid = pid_t(name[marker.upperBound...])
      else {
        continue
      }
      if kill(pid, 0) != 0 && errno == ESRCH {
        try? FileManager.default.removeItem(at: directory.appendingPathComponent(name))
      }
    }
  }

  /// Removes a tile's files (before recomputing a partial tile).
  public func remove(_ tile: TileIndex) {
    try? FileManager.default.removeItem(at: sidecarURL(tile))
    try? FileManager.default.removeItem(at: tileURL(tile))
  }
}
