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
  /// s, nonzero entries per column: present exactly for `.sparse`.
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
  public static func read(directory: URL) throws -> KernelManifest? {
    let url = directory.appendingPathComponent(fileName)
    guard FileManager.default.fileExists(atPath: url.path) else { return nil }
    do {
      return try JSONDecoder().decode(KernelManifest.self, from: Data(contentsOf: url))
    } catch {
      throw KernelError.io(path: url.path, reason: "not a readable kernel.json: \(error)")
    }
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
