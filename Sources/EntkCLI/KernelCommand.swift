import ArgumentParser
import AttributionPipeline
import Foundation
import Kernels

struct KernelCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "kernel",
    abstract: "Compute an empirical NTK (or a projection, layer-wise or embedding kernel) into a folder.",
    discussion: """
      Without --test the kernel is train × train (symmetric: only tiles on and above the diagonal \
      are computed); with --test it is test × train. Kinds: entk (C×C blocks, [N, M, C, C]), trntk, \
      pntk, proj-trntk, proj-pntk (need --proj-dim), em, layers ([L, N, M]). Definitions: docs/method.md.

      The kernel is cut into tiles that fit --memory; each finished tile is written atomically \
      to DIR/tiles with a checksum sidecar, so an interrupted run resumes where it stopped. Without \
      --tile, all tiles are computed and merged into DIR/kernel.npy (float32; numpy.load reads it) \
      and DIR/kernel.json describes the settings. With --tile ROW,COL only that tile is computed; \
      run `entk merge DIR` once all are done. With --features rows:I (or columns:J) only the \
      features of tile row I (column J) are computed and stored in DIR/features, where every tile \
      of that row (column) reads them: what `entk plan` does for proj-trntk, proj-pntk and em.
      """)

  @OptionGroup var kernel: KernelOptions
  @Option(help: "Compute only this tile, ROW,COL (0-based), and do not merge.") var tile: String?
  @Option(
    help: ArgumentHelp(
      "Compute and store only the features of one block, rows:I or columns:J (proj-trntk, proj-pntk, em).",
      valueName: "side:index"))
  var features: String?
  @Option(
    help:
      "Threads: backend models working in parallel, sharing the Gram stage too (default: all cores; at most 4 per core)."
  )
  var threads: Int = ProcessInfo.processInfo.activeProcessorCount
  @Option(
    help:
      "Output folder. An existing one is resumed when its kernel.json has the same settings (finished tiles are kept) and refused otherwise."
  )
  var out: String
  @Flag(help: "Print a JSON summary on stdout.") var json = false

  func validate() throws {
    if threads < 1 { throw ValidationError("--threads must be at least 1") }
    if tile != nil && features != nil { throw ValidationError("--tile and --features are separate steps; give one") }
  }

  struct Summary: Encodable {
    var out: String
    var file: String?
    var kind: String
    /// Whether the kernel came from the backend's per-layer factors.
    var factored: Bool
    var shape: [Int]
    var grid: [Int]
    var complete: Bool
    var run: KernelRunReport
    var seconds: Double
    var gramGFLOPS: Double
  }

  struct FeaturesSummary: Encodable {
    var out: String
    var features: String
    var seconds: Double
  }

  func run() throws {
    let only = try tile.map(TileIndex.init(parsing:))
    let block = try features.map(FeatureBlock.init(parsing:))
    let directory = try OutputPath.check(out)
    let job = try kernel.job(threads: threads, log: "kernel")
    if let block {
      let started = Date()
      try job.storeFeatures(in: directory, block: block)
      let seconds = Date().timeIntervalSince(started)
      if json {
        try printJSON(FeaturesSummary(out: directory.path, features: block.description, seconds: seconds))
      } else {
        printError("kernel: features \(block) stored in \(String(format: "%.2f", seconds))s")
      }
      return
    }
    let grid = job.manifest.grid
    let printer = TileProgressPrinter(prefix: "kernel", log: printError)
    let summary = try job.run(in: directory, tile: only, progress: printer.report)
    if json {
      try printJSON(
        Summary(
          out: summary.directory.path, file: summary.file?.path, kind: summary.manifest.kind.rawValue,
          factored: summary.manifest.factored, shape: summary.manifest.shape, grid: [grid.rowTiles, grid.columnTiles],
          complete: summary.file != nil,
          run: summary.run, seconds: summary.seconds,
          gramGFLOPS: summary.run.gramSeconds > 0 ? summary.run.gramFlops / summary.run.gramSeconds / 1e9 : 0))
    } else if summary.alreadyComplete {
      printError("kernel: \(summary.directory.path) is already complete")
    } else if let file = summary.file {
      printError("kernel: wrote \(file.path) in \(String(format: "%.2f", summary.seconds))s")
    } else {
      printError("kernel: tile \(only?.description ?? "") done in \(String(format: "%.2f", summary.seconds))s")
    }
  }
}
