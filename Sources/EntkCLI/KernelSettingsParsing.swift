import Kernels

extension KernelSettings {
  /// The kernel options as given on the command line (`entk kernel`, `entk plan`,
  /// `entk attribute --kind`), combined into settings.
  ///
  /// Without `memory`, the budget is `AvailableMemory.defaultShare` of the memory available,
  /// logged on stderr.
  init(
    kind: KernelKind, projDim: Int?, projKind distribution: ProjectionDistribution, projDensity: Int?, seed: UInt64,
    normalize normalization: KernelNormalization, memory: String?, tileSize: Int?, batchSize: Int?,
    factors factorUse: FactorUse
  ) throws {
    if let projDensity, projDim == nil {
      throw KernelError.projection("--proj-density \(projDensity) given without --proj-dim k and a projected kind")
    }
    try self.init(
      kind: kind,
      projection: projDim.map {
        ProjectionSettings(
          dim: $0, distribution: distribution, seed: seed,
          density: distribution.takesDensity ? projDensity ?? ProjectionSettings.defaultDensity : projDensity)
      },
      normalize: normalization, memory: try memory.map(MemoryBudget.init(parsing:))?.bytes ?? Self.defaultMemory(),
      tileSize: tileSize, batchSize: batchSize,
      factors: factorUse)
  }

  /// The default `--memory`, logged on stderr.
  private static func defaultMemory() -> Int {
    let available = AvailableMemory.read()
    printError(
      "memory: --memory not given, using \(AvailableMemory.format(available.defaultBudget)), \(available.defaultBudgetSource)"
    )
    return available.defaultBudget
  }
}

extension TileIndex {
  /// `--tile ROW,COL`: two non-negative integers.
  init(parsing text: String) throws {
    let parts = text.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
    guard parts.count == 2, let row = parts[0], let column = parts[1], row >= 0, column >= 0 else {
      throw KernelError.badArgument(
        option: "--tile", value: text, reason: "expected ROW,COL, two non-negative integers")
    }
    self.init(row: row, column: column)
  }
}
