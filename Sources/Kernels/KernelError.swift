import ArrayIO

/// Why a kernel could not be computed, stored or merged.
public enum KernelError: Error, CustomStringConvertible, Equatable {
  /// A projected kind without a usable projection dimension, or a projection on an unprojected kind.
  case projection(String)
  /// The kind needs something the model does not have (e.g. `em` with embedding size 0).
  case unsupportedByModel(kind: KernelKind, reason: String)
  /// A gradient, Jacobian or embedding the backend returned holds NaN or ±Inf.
  case nonFiniteFeatures(what: String, dataset: String, sample: Int)
  /// `--memory` cannot hold even one sample's features and a 1×1 tile.
  case memoryTooSmall(budget: Int, required: Int, detail: String)
  /// The system refused one of the kernel stage's large buffers (a budget above what is available).
  case allocationFailed(bytes: Int, purpose: String)
  /// A `--memory` or `--tile` argument that does not parse.
  case badArgument(option: String, value: String, reason: String)
  /// `--tile ROW,COL` outside the grid, or below the diagonal of a symmetric kernel.
  case tileOutOfRange(row: Int, column: Int, grid: [Int], symmetric: Bool)
  /// The output folder holds a kernel computed with different settings.
  case settingsMismatch(directory: String, field: String)
  /// Tiles missing or failing their size/checksum check; `merge` refuses.
  case incompleteTiles(directory: String, missing: [String], corrupt: [String])
  /// A file of the kernel folder could not be read or written.
  case io(path: String, reason: String)
  /// A field of `kernel.json` or a tile sidecar that contradicts another field or the format.
  case invalidField(path: String, field: String, value: String, reason: String)

  public var description: String {
    switch self {
    case .projection(let reason): return "projection: \(reason)"
    case .unsupportedByModel(let kind, let reason):
      return "kernel '\(kind.rawValue)' cannot be computed for this model: \(reason)"
    case .nonFiniteFeatures(let what, let dataset, let sample):
      return "\(dataset): the backend's \(what) for sample \(sample) contains NaN or Inf"
    case .memoryTooSmall(let budget, let required, let detail):
      return "--memory \(budget) bytes is too small: one block needs at least \(required) bytes (\(detail))"
    case .allocationFailed(let bytes, let purpose):
      return
        "could not allocate \(bytes) bytes for \(purpose): the system has less memory free than --memory allows; give a smaller --memory"
    case .badArgument(let option, let value, let reason): return "\(option) '\(value)': \(reason)"
    case .tileOutOfRange(let row, let column, let grid, let symmetric):
      let half = symmetric ? "; the kernel is symmetric, so only tiles with ROW ≤ COL exist" : ""
      return "tile \(row),\(column) is outside the \(grid[0])×\(grid[1]) tile grid\(half)"
    case .settingsMismatch(let directory, let field):
      return
        "\(directory) holds a kernel computed with different settings (\(field) differs); use another --out or remove it"
    case .incompleteTiles(let directory, let missing, let corrupt):
      var parts: [String] = []
      if !missing.isEmpty { parts.append("missing: \(Self.list(missing))") }
      if !corrupt.isEmpty { parts.append("corrupt or partial: \(Self.list(corrupt))") }
      return
        "\(directory): cannot merge, tiles are not complete (\(parts.joined(separator: "; "))); re-run `entk kernel` with the same settings to compute them"
    case .io(let path, let reason): return "\(path): \(reason)"
    case .invalidField(let path, let field, let value, let reason):
      return "\(path): \(field) is \(value): \(reason)"
    }
  }

  /// A file-system failure at `path`: `error` itself when it is a `KernelError` already.
  public static func io(path: String, _ error: Error) -> KernelError {
    error as? KernelError ?? .io(path: path, reason: FileSystemReason.of(error))
  }

  /// The first entries of a list of tiles, so a grid of thousands stays one readable line.
  private static func list(_ items: [String], limit: Int = 20) -> String {
    let shown = items.prefix(limit).joined(separator: ", ")
    return items.count > limit ? shown + " and \(items.count - limit) more" : shown
  }
}
