import ArgumentParser
import AttributionPipeline
import BackendLoader
import Foundation
import Kernels

/// The options that define a kernel, shared by `entk kernel` and `entk plan` (a plan's tile
/// commands repeat them, so every tile run describes the same kernel).
struct KernelOptions: ParsableArguments {
  @OptionGroup var model: ModelOptions
  @Option(help: ArgumentHelp(DataSourceHelp.train, valueName: "file|NAME=file")) var train: [String] = []
  @Option(help: ArgumentHelp(DataSourceHelp.test, valueName: "file|NAME=file")) var test: [String] = []
  @Option(help: "Kernel kind (definitions: docs/method.md).") var kind: KernelKind
  @Option(name: .customLong("proj-dim"), help: "k, rows of the random projection (proj-* kinds).") var projDim: Int?
  @Option(
    name: .customLong("proj-kind"),
    help:
      "Projection: gaussian (entries N(0,1/k)), rademacher (±1/√k), sparse (s entries ±1/√s per column) or factored (per-layer Kronecker blocks for the backend's factored groups, sparse for the rest)."
  )
  var projKind = ProjectionDistribution.gaussian
  @Option(
    name: .customLong("proj-density"),
    help:
      "s, nonzero entries per column of a sparse projection or of a factored one's sparse part (default \(ProjectionSettings.defaultDensity))."
  )
  var projDensity: Int?
  @Option(help: "Seed of the projection (docs/projection.md gives the exact generator).") var seed: UInt64 = 0
  @Option(
    help:
      "Normalisation. none (default) keeps the raw kernel that `entk kernel` stores; `entk attribute` normalises to cosine, as the paper does, unless told otherwise."
  )
  var normalize = KernelNormalization.none
  @Option(
    help:
      "Memory budget for gradient batches, feature blocks and tiles, e.g. 2G, 512M (default: \(Int(AvailableMemory.defaultShare * 100))% of the memory available now: MemAvailable, or the room under a cgroup limit if smaller)."
  )
  var memory: String?
  @Option(name: .customLong("tile-size"), help: "Samples per tile side (default: the largest that fits --memory).")
  var tileSize: Int?
  @Option(
    name: .customLong("batch-size"),
    help:
      "Samples per backend call (default: up to \(KernelSettings.defaultBatchSize), as many as half of --memory holds)."
  )
  var batchSize: Int?
  @Option(
    help:
      "trntk, layers and entk from the backend's per-layer factors when it has them (auto) or whole Jacobians (off).")
  var factors = FactorUse.auto

  func validate() throws {
    if train.isEmpty { throw ValidationError("missing --train (the training samples)") }
    if let batchSize, batchSize < 1 { throw ValidationError("--batch-size must be at least 1") }
    if let tileSize, tileSize < 1 { throw ValidationError("--tile-size must be at least 1") }
  }

  /// The typed kernel settings, checked before any file is read.
  func settings() throws -> KernelSettings {
    try KernelSettings(
      kind: kind, projDim: projDim, projKind: projKind, projDensity: projDensity, seed: seed,
      normalize: normalize, memory: memory,
      tileSize: tileSize, batchSize: batchSize, factors: factors)
  }

  /// A job for these options with `threads` models (backend loaded, data checked, tiles sized),
  /// its memory budget, batch size and any recomputation the tiling implies logged on stderr.
  ///
  /// The model is recorded by its absolute path.
  func job(threads: Int, log prefix: String) throws -> KernelJob {
    let job = try KernelJob(
      settings: settings(), library: BackendLibrary.load(model.backend), model: ModelPath.absolute(model.model),
      options: model.options, train: DataSource(arguments: train),
      test: test.isEmpty ? nil : DataSource(arguments: test), threads: threads)
    job.log(prefix: prefix, to: printError)
    return job
  }

  /// The options as `entk kernel` arguments with absolute paths and the given tile side, memory
  /// budget and batch size, so a tile command run from any folder, at any later time, computes a
  /// tile of the same kernel the same way.
  func arguments(tileSide: Int, memory: Int, batchSize: Int) throws -> [String] {
    var arguments = ["--backend", model.backend, "--model", ModelPath.absolute(model.model)]
    if let options = model.options { arguments += ["--options", options] }
    for source in try DataSource(arguments: train).absoluteArguments { arguments += ["--train", source] }
    if !test.isEmpty {
      for source in try DataSource(arguments: test).absoluteArguments { arguments += ["--test", source] }
    }
    arguments += ["--kind", kind.rawValue]
    if let projDim {
      arguments += ["--proj-dim", String(projDim), "--proj-kind", projKind.rawValue, "--seed", String(seed)]
    }
    if let projDensity { arguments += ["--proj-density", String(projDensity)] }
    arguments += ["--normalize", normalize.rawValue, "--memory", String(memory), "--tile-size", String(tileSide)]
    arguments += ["--batch-size", String(batchSize), "--factors", factors.rawValue]
    return arguments
  }

}
