import Foundation

/// A block of one side's features: the samples of one tile row or tile column of the grid.
///
/// A symmetric kernel has only row blocks: its columns are the same samples.
public struct FeatureBlock: Sendable, Hashable, Codable, CustomStringConvertible {
  public enum Side: String, Sendable, Codable { case rows, columns }
  public var side: Side
  public var index: Int

  public init(side: Side, index: Int) {
    self.side = side
    self.index = index
  }

  /// Parses "rows:I" or "columns:J", as `entk kernel --features` takes it.
  public init(parsing text: String) throws {
    let parts = text.split(separator: ":", omittingEmptySubsequences: false)
    guard parts.count == 2, let side = Side(rawValue: String(parts[0])), let index = Int(parts[1]), index >= 0 else {
      throw KernelError.badArgument(
        option: "--features", value: text, reason: "expected rows:I or columns:J with a tile row or column index")
    }
    self.init(side: side, index: index)
  }

  /// "rows:I", as `--features` takes it.
  public var description: String { "\(side.rawValue):\(index)" }
  /// The file stem in `features/`.
  public var fileStem: String { "\(side.rawValue)-\(index)" }
}

extension TileGrid {
  /// The samples of `block`'s side that the block covers.
  public func samples(of block: FeatureBlock) -> Range<Int> {
    block.side == .rows
      ? rowRange(TileIndex(row: block.index, column: 0)) : columnRange(TileIndex(row: 0, column: block.index))
  }
}

/// The sidecar of a stored feature block: the block is complete exactly when its sidecar exists
/// and the `.npy` has this size and checksum.
public struct FeatureSidecar: Codable, Equatable, Sendable {
  public var block: FeatureBlock
  /// The samples of the block's side, [start, end).
  public var samples: [Int]
  /// Floats per sample.
  public var length: Int
  /// Size of the whole `.npy` file in bytes.
  public var bytes: Int
  /// `TileChecksum` of the whole `.npy` file.
  public var checksum: String
}

/// The `features/` folder of a planned kernel of a kind with small features (projected kinds and
/// `em`: k·C, k or E floats a sample): each block computed once by its own plan target, then read
/// by every tile of its row or column instead of recomputing the gradients.
public struct FeatureStore: Sendable {
  public let directory: URL

  public init(directory: URL) { self.directory = directory }

  public func fileURL(_ block: FeatureBlock) -> URL { directory.appendingPathComponent(block.fileStem + ".npy") }
  public func sidecarURL(_ block: FeatureBlock) -> URL {
    directory.appendingPathComponent(block.fileStem + ".json")
  }

  /// Writes a block's features (`samples.count` × `length` floats) and then its sidecar, both
  /// atomically.
  public func write(_ block: FeatureBlock, samples: Range<Int>, length: Int, values: UnsafePointer<Float>) throws {
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    let (bytes, checksum) = try ChecksummedArray.write(
      UnsafeBufferPointer(start: values, count: samples.count * length), shape: [samples.count, length],
      to: fileURL(block), what: "feature block")
    let sidecar = FeatureSidecar(
      block: block, samples: [samples.lowerBound, samples.upperBound], length: length, bytes: bytes,
      checksum: checksum)
    try AtomicFile.write([try KernelManifest.encoder.encode(sidecar)], to: sidecarURL(block))
  }

  /// Reads a complete block into `features` when its sidecar, size, checksum and header match
  /// `samples` and `length`; false when the block is missing or does not verify (the caller then
  /// computes the features itself).
  public func read(
    _ block: FeatureBlock, samples: Range<Int>, length: Int, into features: UnsafeMutablePointer<Float>
  ) -> Bool {
    guard let sidecarData = try? Data(contentsOf: sidecarURL(block)),
      let sidecar = try? JSONDecoder().decode(FeatureSidecar.self, from: sidecarData), sidecar.block == block,
      sidecar.samples == [samples.lowerBound, samples.upperBound], sidecar.length == length,
      case .success(let (data, offset)) = ChecksummedArray.read(
        fileURL(block), bytes: sidecar.bytes, checksum: sidecar.checksum, shape: [samples.count, length])
    else { return false }
    return data.withUnsafeBytes { raw in
      guard let base = raw.baseAddress else { return false }
      UnsafeMutableRawPointer(features).copyMemory(
        from: base + offset, byteCount: samples.count * length * MemoryLayout<Float>.size)
      return true
    }
  }
}
