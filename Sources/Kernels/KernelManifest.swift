import ArrayIO
import BackendLoader
import Foundation

/// How kernel values are normalised.
public enum KernelNormalization: String, Sendable, Codable, CaseIterable {
  case none
  /// K(x,x') / √(K(x,x)·K(x',x')), per class pair for `entk` and per layer for `layers`.
  case cosine
}

/// The projection settings of a projected kind.
public struct ProjectionSettings: Sendable, Codable, Equatable {
  /// k, rows of R.
  public var dim: Int
  public var distribution: ProjectionDistribution
  public var seed: UInt64
  /// s, nonzero entries per column: present exactly for `.sparse` and `.factored`.
  public var density: Int?
  /// The command line's s when `--proj-kind sparse` is given without `--proj-density`.
  public static let defaultDensity = 4
  public init(dim: Int, distribution: ProjectionDistribution, seed: UInt64, density: Int? = nil) {
    self.dim = dim
    self.distribution = distribution
    self.seed = seed
    self.density = density
  }
}

/// A data file one side of the kernel was computed from.
public struct DataReference: Sendable, Codable, Equatable {
  public var path: String
  public var count: Int
  /// `TileChecksum` of the samples as float32.
  public var checksum: String
  public init(_ set: SampleSet) {
    path = set.name
    count = set.count
    checksum = set.checksum
  }
}

/// `kernel.json`, the description of a kernel folder (schema: `schemas/kernel.schema.json`).
///
/// Written before the first tile, so a re-run or `entk merge` knows the settings, and rewritten
/// with `complete` and the checksum once `kernel.npy` exists.
public struct KernelManifest: Sendable, Codable, Equatable {
  public var format = "entk-kernel"
  public var version = 1
  public var kind: KernelKind
  public var normalize: KernelNormalization
  public var projection: ProjectionSettings?
  public var backend: String
  public var model: String
  public var options: String?
  /// The kernel's row samples (test samples for test × train, else train).
  public var rows: DataReference
  /// The kernel's column samples (always the train samples).
  public var columns: DataReference
  public var numOutputs: Int
  public var numParams: Int
  public var parameterGroups: [ParameterGroup]
  /// Whether the kernel was computed from the backend's per-layer factors (`factored_jacobian`)
  /// rather than whole Jacobians: the same kernel with different float32 rounding, so a folder's
  /// tiles never mix the two.
  public var factored: Bool
  /// Set (true) when a `trntk` kernel was computed one class at a time; absent otherwise.
  ///
  /// Σ_c Gram(g_c) with only one class's gradients per sample in memory (`KernelJob` chooses it
  /// when whole Jacobians would make the tiling recompute them). The same kernel with different
  /// float32 rounding, so a folder's tiles never mix the two.
  public var classSliced: Bool?
  /// Shape of `kernel.npy` (float32): [N, M], [N, M, C, C] for `entk`, [L, N, M] for `layers`.
  public var shape: [Int]
  public var dtype = "float32"
  public var file = "kernel.npy"
  public var grid: TileGrid
  public var complete = false
  /// `TileChecksum` of `kernel.npy`, once complete.
  public var checksum: String?

  public init(
    kind: KernelKind, normalize: KernelNormalization, projection: ProjectionSettings?, backend: String, model: String,
    options: String?, rows: SampleSet, columns: SampleSet, description: ModelDescription, factored: Bool = false,
    classSliced: Bool = false, grid: TileGrid
  ) {
    self.kind = kind
    self.normalize = normalize
    self.projection = projection
    self.backend = backend
    self.model = model
    self.options = options
    self.rows = DataReference(rows)
    self.columns = DataReference(columns)
    numOutputs = description.numOutputs
    numParams = description.numParams
    parameterGroups = description.parameterGroups
    self.factored = factored
    self.classSliced = classSliced ? true : nil
    shape = kind.storedShape(
      rows: rows.count, columns: columns.count, numOutputs: numOutputs, numGroups: parameterGroups.count)
    self.grid = grid
  }

  /// Shape of one tile's `.npy`.
  public func tileShape(_ tile: TileIndex) -> [Int] {
    kind.storedShape(
      rows: grid.rowRange(tile).count, columns: grid.columnRange(tile).count, numOutputs: numOutputs,
      numGroups: parameterGroups.count)
  }

  static let fileName = "kernel.json"

  static var encoder: JSONEncoder {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    return encoder
  }

  /// Reads `DIR/kernel.json`, or nil if there is none.
  ///
  /// - Throws: `KernelError.io` for a file that is not a kernel.json, `KernelError.invalidField`
  ///   naming the first field that contradicts the format or another field (see `check`).
  public static func read(directory: URL) throws -> KernelManifest? {
    let url = directory.appendingPathComponent(fileName)
    guard FileManager.default.fileExists(atPath: url.path) else { return nil }
    let data: Data
    do {
      data = try Data(contentsOf: url)
    } catch {
      throw KernelError.io(path: url.path, reason: "cannot read: \(FileSystemReason.of(error, path: url.path))")
    }
    let manifest: KernelManifest
    do {
      manifest = try JSONDecoder().decode(KernelManifest.self, from: data)
    } catch {
      throw KernelError.io(path: url.path, reason: "not a readable kernel.json: \(JSONFailure.reason(error))")
    }
    try manifest.check(path: url.path)
    return manifest
  }

  /// Checks every number a merge or a resumed run computes with: the model's shapes, the grid
  /// against the sample counts, `shape` against all of them, and that the kernel's size and tile
  /// count are representable, so a hand-edited kernel.json is refused instead of trapping.
  /// - Parameter path: the file named in errors.
  public func check(path: String) throws {
    func refuse(_ field: String, _ value: Any, _ reason: String) -> KernelError {
      KernelError.invalidField(path: path, field: field, value: "\(value)", reason: reason)
    }
    guard format == "entk-kernel" else { throw refuse("format", "\"\(format)\"", "expected \"entk-kernel\"") }
    guard version == 1 else { throw refuse("version", version, "this entk reads version 1") }
    guard dtype == "float32" else { throw refuse("dtype", "\"\(dtype)\"", "expected \"float32\"") }
    guard Self.isFileName(file) else {
      throw refuse("file", "\"\(file)\"", "expected a file name inside the kernel folder")
    }
    let model = ModelDescription(
      inputShape: [1], numOutputs: numOutputs, numParams: numParams, embeddingSize: 0,
      parameterGroups: parameterGroups)
    if let violation = model.violation() { throw refuse("numOutputs/numParams/parameterGroups", "invalid", violation) }
    if kind.isProjected != (projection != nil) {
      throw refuse("projection", projection.map { "\($0.dim)" } ?? "absent", "kind \(kind.rawValue) disagrees")
    }
    if let projection, !(1...(1 << 32)).contains(projection.dim) {
      throw refuse("projection.dim", projection.dim, "expected 1...2^32")
    }
    guard rows.count >= 1 else { throw refuse("rows.count", rows.count, "expected at least 1 sample") }
    guard columns.count >= 1 else { throw refuse("columns.count", columns.count, "expected at least 1 sample") }
    guard grid.rows == rows.count else { throw refuse("grid.rows", grid.rows, "rows.count is \(rows.count)") }
    guard grid.columns == columns.count else {
      throw refuse("grid.columns", grid.columns, "columns.count is \(columns.count)")
    }
    guard (1...grid.rows).contains(grid.tileRows) else {
      throw refuse("grid.tileRows", grid.tileRows, "expected 1...\(grid.rows) (grid.rows)")
    }
    guard (1...grid.columns).contains(grid.tileColumns) else {
      throw refuse("grid.tileColumns", grid.tileColumns, "expected 1...\(grid.columns) (grid.columns)")
    }
    if grid.symmetric && (grid.rows != grid.columns || grid.tileRows != grid.tileColumns) {
      throw refuse("grid.symmetric", true, "a symmetric grid needs rows = columns and tileRows = tileColumns")
    }
    let expected = kind.storedShape(
      rows: rows.count, columns: columns.count, numOutputs: numOutputs, numGroups: parameterGroups.count)
    guard shape == expected else { throw refuse("shape", shape, "kind, rows, columns and the model give \(expected)") }
    var bytes = MemoryLayout<Float>.size
    for dimension in shape {
      let (product, overflow) = bytes.multipliedReportingOverflow(by: dimension)
      guard !overflow else { throw refuse("shape", shape, "the kernel's size in bytes overflows") }
      bytes = product
    }
    // The shape holds rows and columns, so both are below Int.max / 4: the tile counts cannot overflow.
    let (tiles, tilesOverflow) = grid.rowTiles.multipliedReportingOverflow(by: grid.columnTiles)
    guard !tilesOverflow, tiles <= TileGrid.maximumTiles else {
      throw refuse(
        "grid", "\(grid.rowTiles)×\(grid.columnTiles) tiles", "more than \(TileGrid.maximumTiles) tiles")
    }
  }

  /// Whether `name` names a file inside the folder (not "..", nothing with a "/"), as `file` must.
  public static func isFileName(_ name: String) -> Bool {
    !name.isEmpty && name != "." && name != ".." && !name.contains("/")
  }

  /// Writes `DIR/kernel.json` atomically.
  public func write(directory: URL) throws {
    try AtomicFile.write([try Self.encoder.encode(self)], to: directory.appendingPathComponent(Self.fileName))
  }

  /// The first setting (a top-level key of kernel.json) in which `other` differs from this
  /// manifest, ignoring completion state; nil when a run may resume `other`'s tiles.
  public func differingSetting(from other: KernelManifest) -> String? {
    var mine = self
    var theirs = other
    (mine.complete, mine.checksum, theirs.complete, theirs.checksum) = (false, nil, false, nil)
    // The data checksums identify the samples; the same file reached by another path is the same.
    (mine.rows.path, mine.columns.path) = (theirs.rows.path, theirs.columns.path)
    guard mine != theirs else { return nil }
    let encoder = Self.encoder
    guard let a = try? JSONSerialization.jsonObject(with: encoder.encode(mine)) as? [String: Any],
      let b = try? JSONSerialization.jsonObject(with: encoder.encode(theirs)) as? [String: Any]
    else { return "kernel.json" }
    for key in Set(a.keys).union(b.keys).sorted() {
      let left = try? JSONSerialization.data(withJSONObject: [a[key] ?? NSNull()], options: .sortedKeys)
      let right = try? JSONSerialization.data(withJSONObject: [b[key] ?? NSNull()], options: .sortedKeys)
      if left != right { return key }
    }
    return "kernel.json"
  }
}
