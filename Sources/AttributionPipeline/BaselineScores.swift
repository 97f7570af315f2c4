import ArrayIO
import BackendLoader
import Foundation
import Kernels

/// The scores of the baseline methods an attribution asks for (`entk attribute --baseline`), on the model(s) and
/// data of the bundle (docs/method.md, "Baselines").
enum BaselineScores {
  /// Each method's scores, float32 [M, N]: for every model, the loss gradients of the training
  /// points at their labels and of the test points at `testClasses`, scored by the method; the
  /// mean over the models (an ensemble's baseline averages scores, as TRAK and TracIn average
  /// over checkpoints).
  ///
  /// `train` and `test` hold one row per label (`AttributeSamples.checkCount`); the models of an
  /// ensemble share their inputs, so the samples are matched to them once.
  static func compute(
    methods: [LossGradientMethod], backend: String, models: [String], options: String?, train: AttributeSamples,
    trainLabels: [Int], test: AttributeSamples, testClasses: [Int], log: (String) -> Void
  ) throws -> [LossGradientMethod: [Float]] {
    let library = try BackendLibrary.load(backend)
    let (n, m) = (trainLabels.count, testClasses.count)
    var sums: [LossGradientMethod: [Double]] = [:]
    var samples: (train: SampleSet, test: SampleSet)?
    for path in models {
      let model = try library.open(model: path, options: options)
      let p = model.description.numParams
      log("attribute: loss gradients of \(n) training and \(m) test points (\(p) parameters) for the baselines")
      let (trainSamples, testSamples) =
        try samples ?? (
          train.samples(for: model.description.inputs), test.samples(for: model.description.inputs)
        )
      samples = (trainSamples, testSamples)
      let trainGradients = try LossGradientMethod.lossGradients(
        model: model, samples: trainSamples, labels: trainLabels, dataset: "train")
      let testGradients = try LossGradientMethod.lossGradients(
        model: model, samples: testSamples, labels: testClasses, dataset: "test")
      for method in methods {
        let scores = method.scores(test: testGradients, m: m, train: trainGradients, n: n, parameters: p)
        var sum = sums[method] ?? [Double](repeating: 0, count: m * n)
        for index in sum.indices { sum[index] += Double(scores[index]) }
        sums[method] = sum
      }
    }
    return sums.mapValues { sum in sum.map { Float($0 / Double(models.count)) } }
  }
}
