import Kernels

extension KernelJob {
  /// Logs, after `prefix: `, what the defaults chose (the budget is logged when it is resolved)
  /// and the gradient recomputations a tiling implies.
  public func log(prefix: String, to log: (String) -> Void) {
    if settings.batchSize == nil && batchSize < KernelSettings.defaultBatchSize {
      log(
        "\(prefix): batches of \(batchSize) sample(s), the most whose gradients and scratch fit half of --memory \(AvailableMemory.format(settings.memory))"
      )
    }
    if let recomputation { log("\(prefix): \(recomputation)") }
  }
}
