import ArgumentParser
import Foundation
import Kernels

struct PlanCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "plan",
    abstract: "Plan a tiled kernel for GNU Make or a Slurm job array.",
    discussion: """
      Takes the options of `entk kernel` and writes into DIR: kernel.json (the kernel's settings), \
      plan.json (every tile's command; schemas/plan.schema.json), a Makefile (one target per tile, \
      `merge` depending on all of them: `make -j4 -f DIR/Makefile`) and slurm.sh (a job array, one \
      task per tile: `sbatch DIR/slurm.sh`, then `entk merge DIR`). Tiles are idempotent: a finished \
      tile (its sidecar verified by size and checksum) is skipped, an unfinished one recomputed.
      """)

  @OptionGroup var kernel: KernelOptions
  @Option(
    help:
      "Threads per tile command (backend models, sharing the Gram stage too; at most 4 per core). Default 1, where `entk kernel` uses all cores: `make -j N` runs N tile commands at once, and slurm.sh asks for this many CPUs per task."
  )
  var threads: Int = 1
  @Option(help: "The entk executable the commands run (default: this one).") var entk: String?
  @Option(
    help:
      "Output folder. An existing one planned with the same settings is planned again (finished tiles are kept); one with other settings is refused."
  )
  var out: String
  @Flag(help: "Print a JSON summary on stdout.") var json = false

  func validate() throws {
    if threads < 1 { throw ValidationError("--threads must be at least 1") }
  }

  /// `plan.json`.
  struct Plan: Codable {
    var format = "entk-plan"
    var version = 1
    var directory: String
    var tiles: [PlannedTile]
    var merge: [String]
    var makefile = "Makefile"
    var slurm = "slurm.sh"
    /// For kinds that store features: each block's target, to run before the tiles.
    var features: [PlannedFeatures]?
    /// For kinds that store features: the job array of the feature blocks.
    var slurmFeatures: String?
  }

  /// One block of features: computed once, then read by every tile of its row or column.
  struct PlannedFeatures: Codable {
    var index: Int
    var block: String
    var samples: [Int]
    var sidecar: String
    var command: [String]
  }

  /// One unit of work: the tile, its sample ranges, the sidecar that marks it done, its command.
  struct PlannedTile: Codable {
    var index: Int
    var tile: String
    var rows: [Int]
    var columns: [Int]
    var sidecar: String
    var command: [String]
    /// For kinds that store features: the sidecars of the feature blocks the tile reads (run
    /// those targets first).
    var features: [String]?
  }

  func run() throws {
    try KernelJob.checkThreads(threads)
    let directory = try OutputPath.check(out)
    let job = try kernel.job(threads: 1, log: "plan")
    let manifest = job.manifest
    let grid = manifest.grid
    // Not argv[0]: a shell that found entk on PATH passes the bare name, which the tile commands,
    // run from other folders or nodes, could not resolve.
    let executable =
      entk ?? Bundle.main.executablePath ?? URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL.path
    if let existing = try KernelManifest.read(directory: directory),
      let field = manifest.differingSetting(from: existing)
    {
      throw KernelError.settingsMismatch(directory: directory.path, field: field)
    }
    let common =
      ["kernel"]
      // The grid's side: a side longer than the test set is clamped in rows only, so the larger
      // of the two is the side that gives this grid again.
      + (try kernel.arguments(
        tileSide: max(grid.tileRows, grid.tileColumns), memory: job.settings.memory, batchSize: job.batchSize))
      + ["--threads", String(threads)]
    let tiles = grid.tiles.enumerated().map { index, tile in
      PlannedTile(
        index: index, tile: tile.description, rows: [grid.rowRange(tile).lowerBound, grid.rowRange(tile).upperBound],
        columns: [grid.columnRange(tile).lowerBound, grid.columnRange(tile).upperBound],
        sidecar: "tiles/\(tile.fileStem).json",
        command: [executable] + common + ["--tile", tile.description, "--out", directory.path])
    }
    var plan = Plan(directory: directory.path, tiles: tiles, merge: [executable, "merge", directory.path])
    if manifest.kind.storesFeatures {
      let blocks =
        (0..<grid.rowTiles).map { FeatureBlock(side: .rows, index: $0) }
        + (grid.symmetric ? [] : (0..<grid.columnTiles).map { FeatureBlock(side: .columns, index: $0) })
      plan.features = blocks.enumerated().map { index, block in
        let samples = grid.samples(of: block)
        return PlannedFeatures(
          index: index, block: block.description, samples: [samples.lowerBound, samples.upperBound],
          sidecar: "features/\(block.fileStem).json",
          command: [executable] + common + ["--features", block.description, "--out", directory.path])
      }
      plan.slurmFeatures = "slurm-features.sh"
      for (index, tile) in grid.tiles.enumerated() {
        let column = FeatureBlock(side: grid.symmetric ? .rows : .columns, index: tile.column)
        plan.tiles[index].features = [
          "features/\(FeatureBlock(side: .rows, index: tile.row).fileStem).json", "features/\(column.fileStem).json",
        ]
      }
    }
    let created = KernelJob.outermostMissingFolder(of: directory)
    do {
      try FileManager.default.createDirectory(
        at: directory.appendingPathComponent("slurm"), withIntermediateDirectories: true)
      if try KernelManifest.read(directory: directory) == nil { try manifest.write(directory: directory) }
      try Data(makefile(plan, executable: executable, common: common).utf8)
        .write(to: directory.appendingPathComponent(plan.makefile), options: .atomic)
      try Data(slurmScript(plan, executable: executable, common: common).utf8)
        .write(to: directory.appendingPathComponent(plan.slurm), options: .atomic)
      _ = chmod(directory.appendingPathComponent(plan.slurm).path, 0o755)
      if let features = plan.features, let name = plan.slurmFeatures {
        try Data(slurmFeaturesScript(plan, features, executable: executable, common: common).utf8)
          .write(to: directory.appendingPathComponent(name), options: .atomic)
        _ = chmod(directory.appendingPathComponent(name).path, 0o755)
      }
      // Last, so a plan.json is only ever beside a complete Makefile and slurm.sh.
      let encoder = JSONEncoder()
      encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
      try encoder.encode(plan).write(to: directory.appendingPathComponent("plan.json"), options: .atomic)
    } catch {
      if let created { try? FileManager.default.removeItem(at: created) }
      throw KernelError.io(path: directory.path, error)
    }
    if json {
      try printJSON(plan)
    } else {
      printError(
        "plan: \(tiles.count) tiles of \(grid.tileRows)×\(grid.tileColumns) samples in \(directory.path) "
          + "(make -j N -f \(directory.path)/Makefile, or sbatch \(directory.path)/slurm.sh)")
    }
  }

  /// A word for /bin/sh: single-quoted unless plainly safe.
  static func shellQuoted(_ word: String) -> String {
    let safe = CharacterSet(charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./,:=+@%")
    if !word.isEmpty && word.unicodeScalars.allSatisfy({ safe.contains($0) }) { return word }
    return "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
  }

  private func makefile(_ plan: Plan, executable: String, common: [String]) -> String {
    // In a Makefile `$` must be doubled, even inside shell quotes.
    func make(_ words: [String]) -> String {
      words.map { Self.shellQuoted($0).replacingOccurrences(of: "$", with: "$$") }.joined(separator: " ")
    }
    let directory = plan.directory
    var text = """
      # Generated by `entk plan`: one target per tile of the kernel in \(directory).
      # `make -j N -f \(directory)/Makefile` computes N tiles at a time and then merges. A tile's
      # target is its sidecar, written after the tile itself, so after an interruption `make`
      # recomputes only unfinished tiles; `entk merge` refuses (naming them) tiles that are corrupt.

      ENTK ?= \(make([executable]))
      DIR := \(make([directory]))
      KERNEL_ARGS := \(make(Array(common.dropFirst())))

      TILES := \\

      """
    text += plan.tiles.map { "  $(DIR)/\($0.sidecar)" }.joined(separator: " \\\n") + "\n\n"
    text += """
      .PHONY: all merge
      all: merge
      merge: $(DIR)/kernel.npy

      $(DIR)/kernel.npy: $(TILES)
      \t$(ENTK) merge $(DIR)

      """
    // Feature blocks (kinds that store features) are targets of their own, which every tile of
    // their row or column depends on: each sample's gradients are computed once.
    for block in plan.features ?? [] {
      text += "\n$(DIR)/\(block.sidecar):\n\t$(ENTK) kernel $(KERNEL_ARGS) --features \(block.block) --out $(DIR)\n"
    }
    for tile in plan.tiles {
      let dependencies = (tile.features ?? []).map { " $(DIR)/\($0)" }.joined()
      text +=
        "\n$(DIR)/\(tile.sidecar):\(dependencies)\n\t$(ENTK) kernel $(KERNEL_ARGS) --tile \(tile.tile) --out $(DIR)\n"
    }
    return text
  }

  private func slurmFeaturesScript(
    _ plan: Plan, _ features: [PlannedFeatures], executable: String, common: [String]
  ) -> String {
    let quoted = ([executable] + common).map(Self.shellQuoted).joined(separator: " ")
    let directory = Self.shellQuoted(plan.directory)
    return """
      #!/bin/bash
      #SBATCH --job-name=entk-features
      #SBATCH --array=0-\(features.count - 1)
      #SBATCH --cpus-per-task=\(threads)
      #SBATCH --output=\(plan.directory)/slurm/features-%a.out
      # Generated by `entk plan`: task i of the array computes and stores feature block BLOCKS[i]
      # of the kernel in \(plan.directory); the tiles then read them instead of recomputing
      # gradients. Run it before the tiles:
      #   features=$(sbatch --parsable \(plan.directory)/\(plan.slurmFeatures ?? ""))
      #   tiles=$(sbatch --parsable --dependency=afterok:$features \(plan.directory)/slurm.sh)
      #   sbatch --dependency=afterok:$tiles --wrap "\(executable) merge \(plan.directory)"
      set -euo pipefail
      BLOCKS=(\(features.map(\.block).joined(separator: " ")))
      exec \(quoted) --features "${BLOCKS[$SLURM_ARRAY_TASK_ID]}" --out \(directory)

      """
  }

  private func slurmScript(_ plan: Plan, executable: String, common: [String]) -> String {
    let quoted = ([executable] + common).map(Self.shellQuoted).joined(separator: " ")
    let directory = Self.shellQuoted(plan.directory)
    return """
      #!/bin/bash
      #SBATCH --job-name=entk-kernel
      #SBATCH --array=0-\(plan.tiles.count - 1)
      #SBATCH --cpus-per-task=\(threads)
      #SBATCH --output=\(plan.directory)/slurm/tile-%a.out
      # Generated by `entk plan`: task i of the array computes tile TILES[i] of the kernel in
      # \(plan.directory) (finished tiles are skipped, so resubmitting is safe). Then merge:
      #   job=$(sbatch --parsable \(plan.directory)/slurm.sh)
      #   sbatch --dependency=afterok:$job --wrap "\(executable) merge \(plan.directory)"
      set -euo pipefail
      TILES=(\(plan.tiles.map(\.tile).joined(separator: " ")))
      exec \(quoted) --tile "${TILES[$SLURM_ARRAY_TASK_ID]}" --out \(directory)

      """
  }
}
