import ArrayIO
import Foundation
import Kernels

/// The kernels `entk attribute --kind` computes for one model or an ensemble: each model's
/// train × train and test × train kernels, computed in turn as `InProcessKernels` does, and their
/// element-wise mean (docs/method.md, "Ensembles", says why kernels and not scores are averaged).
enum EnsembleKernels {
  /// The mean kernels of `ensemble`'s models, as sources read from the first model's folders
  /// (whose settings every model shares) holding the averaged values.
  ///
  /// Each model's working folder is removed as soon as its kernels are read, so at most one
  /// model's tiles are on disk at a time. The mean is accumulated in float64 and stored as float32.
  static func compute(
    settings: KernelSettings, backend: String, ensemble: ModelEnsemble, options: String?, trainInputs: DataSource,
    testInputs: DataSource, threads: Int, beside bundle: URL, log: @escaping (String) -> Void
  ) throws -> (train: KernelSource, test: KernelSource) {
    var sources: (train: KernelSource, test: KernelSource)?
    var trainSum: [Double] = []
    var testSum: [Double] = []
    for (index, model) in ensemble.paths.enumerated() {
      let name = ensemble.paths.count == 1 ? bundle : bundle.appendingPathExtension("model\(index)")
      let kernels = InProcessKernels(beside: name)
      defer { kernels.remove() }
      if ensemble.paths.count > 1 {
        log("attribute: model \(index + 1) of \(ensemble.paths.count): \(model)")
      }
      try kernels.compute(
        settings: settings, backend: backend, model: model, options: options, trainInputs: trainInputs,
        testInputs: testInputs, threads: threads, log: log)
      let train = try KernelSource(path: kernels.train.path)
      let test = try KernelSource(path: kernels.test.path)
      if sources == nil {
        sources = (train, test)
        trainSum = [Double](repeating: 0, count: train.array.count)
        testSum = [Double](repeating: 0, count: test.array.count)
      }
      accumulate(train.array, into: &trainSum)
      accumulate(test.array, into: &testSum)
    }
    guard var (train, test) = sources else { throw EnsembleError.noModels }
    let scale = 1 / Double(ensemble.paths.count)
    train.array = NPYArray(float32: trainSum.map { Float($0 * scale) }, shape: train.array.shape)
    test.array = NPYArray(float32: testSum.map { Float($0 * scale) }, shape: test.array.shape)
    return (train, test)
  }

  private static func accumulate(_ array: NPYArray, into sum: inout [Double]) {
    for (index, value) in array.float32Values().enumerated() { sum[index] += Double(value) }
  }
}
