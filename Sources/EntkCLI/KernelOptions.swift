import ArgumentParser
import BackendLoader
import Foundation
import Kernels

/// The options that define a kernel, shared by `entk kernel` and `entk plan` (a plan's tile
/// commands repeat them, so every tile run describes the same kernel).
struct KernelOptions: ParsableArguments {
  @OptionGroup var model: ModelOptions
  @Option(help: "Training samples (.npy or .csv, [N, ...input shape]).") var train: String
  @Option(help: "Test samples; the kernel is then test × train.") var test: String?
  @Option(help: "Kernel kind: entk, trntk, pntk, proj-trntk, proj-pntk, em, layers.") var kind: String
  @Option(name: .customLong("proj-dim"), help: "k, rows of the random projection (proj-* kinds).") var projDim: Int?
  @Option(name: .customLong("proj-kind"), help: "Projection entries: gaussian (N(0,1/k)) or rademacher (±1/√k).")
  var projKind: String = "gaussian"
  @Option(help: "Seed of the projection (docs/projection.md gives the exact generator).") var seed: UInt64 = 0
  @Option(help: "Normalisation: none or cosine.") var normalize: String = "none"
  @Option(help: "Memory budget for gradient blocks and tiles, e.g. 2G, 512M.") var memory: String = "2G"
  @Option(name: .customLong("tile-size"), help: "Samples per tile side (default: the largest that fits --memory).")
  var tileSize: Int?
  @Option(
    name: .customLong("batch-size"),
    help: "Samples per backend call (larger values are bounded by the tile side, which memory and the data bound).")
  var batchSize: Int = 64
  @Option(
    help:
      "trntk, layers and entk from the backend's per-layer factors when it has them (auto) or whole Jacobians (off).")
  var factors: String = "auto"

  func validate() throws {
    if batchSize < 1 { throw ValidationError("--batch-size must be at least 1") }
    if let tileSize, tileSize < 1 { throw ValidationError("--tile-size must be at least 1") }
  }

  /// The typed kernel settings, checked before any file is read.
  func settings() throws -> KernelSettings {
    try KernelSettings(
      parsingKind: kind, projDim: projDim, projKind: projKind, seed: seed, normalize: normalize, memory: memory,
      tileSize: tileSize, batchSize: batchSize, factors: factors)
  }

  /// A job for these options with `threads` models (backend loaded, data checked, tiles sized).
  ///
  /// The model is recorded by its absolute path.
  func job(threads: Int) throws -> KernelJob {
    try KernelJob(
      settings: settings(), library: BackendLibrary.load(model.backend), model: Self.absolute(model.model),
      options: model.options, train: URL(fileURLWithPath: train), test: test.map { URL(fileURLWithPath: $0) },
      threads: threads)
  }

  /// The options as `entk kernel` arguments with absolute paths and the given tile side, so a
  /// tile command run from any folder computes a tile of the same kernel.
  func arguments(tileSide: Int) -> [String] {
    var arguments = ["--backend", model.backend, "--model", Self.absolute(model.model)]
    if let options = model.options { arguments += ["--options", options] }
    arguments += ["--train", Self.absolute(train)]
    if let test { arguments += ["--test", Self.absolute(test)] }
    arguments += ["--kind", kind]
    if let projDim { arguments += ["--proj-dim", String(projDim), "--proj-kind", projKind, "--seed", String(seed)] }
    arguments += ["--normalize", normalize, "--memory", memory, "--tile-size", String(tileSide)]
    arguments += ["--batch-size", String(batchSize), "--factors", factors]
    return arguments
  }

  /// An existing path made absolute; anything else (a backend's non-path model name) unchanged.
  static func absolute(_ path: String) -> String {
    FileManager.default.fileExists(atPath: path) ? URL(fileURLWithPath: path).standardizedFileURL.path : path
  }
}
