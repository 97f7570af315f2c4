import ArgumentParser
import BackendLoader
import COpenBLAS
import Foundation
import Kernels

struct KernelCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "kernel",
    abstract: "Compute an empirical NTK (or a projection, layer-wise or embedding kernel) into a folder.",
    discussion: """
      Without --test the kernel is train × train (symmetric: only tiles on and above the diagonal \
      are computed); with --test it is test × train. Kinds: entk (C×C blocks, [N, M, C, C]), trntk, \
      pntk, proj-trntk, proj-pntk (need --proj-dim), em, layers ([L, N, M]). Definitions: DESIGN.md.

      The kernel is cut into tiles that fit --memory; each finished tile is written atomically \
      to DIR/tiles with a checksum sidecar, so an interrupted run resumes where it stopped. Without \
      --tile, all tiles are computed and merged into DIR/kernel.npy (float32; numpy.load reads it) \
      and DIR/kernel.json describes the settings. With --tile ROW,COL only that tile is computed; \
      run `entk merge DIR` once all are done.
      """)

  @OptionGroup var kernel: KernelOptions
  @Option(help: "Compute only this tile, ROW,COL (0-based), and do not merge.") var tile: String?
  @Option(help: "Threads: backend models working in parallel and OpenBLAS threads (default: all cores).")
  var threads: Int = ProcessInfo.processInfo.activeProcessorCount
  @Option(help: "Output folder.") var out: String
  @Flag(help: "Print a JSON summary on stdout.") var json = false

  func validate() throws {
    if threads < 1 { throw ValidationError("--threads must be at least 1") }
  }

  struct Summary: Encodable {
    var out: String
    var file: String?
    var kind: String
    var shape: [Int]
    var grid: [Int]
    var complete: Bool
    var run: KernelRunReport
    var seconds: Double
    var gramGFLOPS: Double
  }

  func run() throws {
    let started = Date()
    let prepared = try kernel.prepare(modelCount: threads, tile: tile)
    let (request, manifest, grid) = (prepared.request, prepared.manifest, prepared.manifest.grid)
    openblas_set_num_threads(Int32(threads))

    let directory = URL(fileURLWithPath: out)
    let createdDirectory = !FileManager.default.fileExists(atPath: directory.path)
    let existing = try KernelManifest.read(directory: directory)
    if let existing {
      if let field = manifest.differingSetting(from: existing) {
        throw KernelError.settingsMismatch(directory: directory.path, field: field)
      }
      if existing.complete && request.tile == nil
        && FileManager.default.fileExists(atPath: directory.appendingPathComponent(existing.file).path)
      {
        if !json { printError("kernel: \(directory.path) is already complete") }
        if json {
          try printJSON(
            Summary(
              out: directory.path, file: directory.appendingPathComponent(existing.file).path,
              kind: existing.kind.rawValue, shape: existing.shape,
              grid: [grid.rowTiles, grid.columnTiles], complete: true,
              run: KernelRunReport(skippingAll: grid.tiles.count),
              seconds: Date().timeIntervalSince(started), gramGFLOPS: 0))
        }
        return
      }
    }
    do {
      try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
      // Written once; concurrent tile runs of a plan find it and leave it alone.
      if existing == nil { try manifest.write(directory: directory) }
      let projection = request.projection.map {
        CounterProjection(rows: $0.dim, columns: manifest.numParams, distribution: $0.distribution, seed: $0.seed)
      }
      let producer = FeatureProducer(
        kind: request.kind, models: prepared.models, projection: projection, batchSize: kernel.batchSize)
      let computation = KernelComputation(
        manifest: manifest, producer: producer, rowSet: prepared.rowSet, columnSet: prepared.trainSet,
        directory: directory)
      var lastReport = Date.distantPast
      let report = try computation.run(request.tile.map { [$0] }) { progress in
        guard Date().timeIntervalSince(lastReport) >= 1 || progress.done == progress.total else { return }
        lastReport = Date()
        let eta = progress.remaining.map { String(format: "%.0fs", $0) } ?? "?"
        printError(
          String(
            format: "kernel: tile %d/%d  %.2f tiles/s  elapsed %.1fs  ETA %@", progress.done, progress.total,
            progress.rate, progress.elapsed, eta))
      }
      var file: String?
      var complete = false
      if request.tile == nil {
        let merged = try KernelMerge.merge(directory: directory)
        try? FileManager.default.removeItem(at: computation.store.directory)
        file = directory.appendingPathComponent(merged.file).path
        complete = true
      }
      let seconds = Date().timeIntervalSince(started)
      if json {
        try printJSON(
          Summary(
            out: directory.path, file: file, kind: request.kind.rawValue, shape: manifest.shape,
            grid: [grid.rowTiles, grid.columnTiles],
            complete: complete, run: report, seconds: seconds,
            gramGFLOPS: report.gramSeconds > 0 ? report.gramFlops / report.gramSeconds / 1e9 : 0))
      } else {
        printError(
          "kernel: \(complete ? "wrote \(file ?? "")" : "tile \(request.tile?.description ?? "") done") in \(String(format: "%.2f", seconds))s"
        )
      }
    } catch {
      // No partial output: a folder this run created goes away whole; in an existing folder only
      // finished tiles (valid on their own) remain.
      if createdDirectory { try? FileManager.default.removeItem(at: directory) }
      throw error
    }
  }
}
