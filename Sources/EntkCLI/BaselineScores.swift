import ArgumentParser
import ArrayIO
import BackendLoader
import Foundation
import Kernels

extension LossGradientMethod: ExpressibleByArgument {}

/// The scores of the baseline methods `entk attribute --baseline` asks for, on the model(s) and
/// data of the bundle (docs/method.md, "Baselines").
enum BaselineScores {
  /// Each method's scores, float32 [M, N]: for every model, the loss gradients of the training
  /// points at their labels and of the test points at `testClasses`, scored by the method; the
  /// mean over the models (an ensemble's baseline averages scores, as TRAK and TracIn average
  /// over checkpoints).
  static func compute(
    methods: [LossGradientMethod], backend: String, models: [String], options: String?, train: NPYArray,
    trainLabels: [Int], test: NPYArray, testClasses: [Int]
  ) throws -> [LossGradientMethod: [Float]] {
    let library = try BackendLibrary.load(backend)
    let (n, m) = (trainLabels.count, testClasses.count)
    var sums: [LossGradientMethod: [Double]] = [:]
    for path in models {
      let model = try library.open(model: path, options: options)
      let p = model.description.numParams
      printError("attribute: loss gradients of \(n) training and \(m) test points (\(p) parameters) for the baselines")
      guard train.count == n * model.description.inputSize, test.count == m * model.description.inputSize else {
        throw InputError.dataShape(
          path: train.count == n * model.description.inputSize ? "--test" : "--train",
          shape: train.count == n * model.description.inputSize ? test.shape : train.shape,
          expectedSample: model.description.inputShape)
      }
      let trainGradients = try LossGradientMethod.lossGradients(
        model: model, inputs: train.float32Values(), labels: trainLabels, dataset: "train")
      let testGradients = try LossGradientMethod.lossGradients(
        model: model, inputs: test.float32Values(), labels: testClasses, dataset: "test")
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
