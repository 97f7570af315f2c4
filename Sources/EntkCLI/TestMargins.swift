import BackendLoader
import Evaluation
import Foundation
import Surrogate

/// A model's logits and margins on labelled test points, what retraining is judged by.
struct TestMargins {
  /// float32 [M, C].
  let logits: [Float]
  let classCount: Int
  /// float64 [M]: f_y − log Σ_{c ≠ y} exp f_c at each point's label y.
  let margins: [Double]

  /// Loads `model` with `backend` and runs `inputs` (float32 [labels.count, input size]) through it.
  init(model: URL, backend: String, options: String?, inputs: [Float], labels: [Int]) throws {
    let network = try BackendLibrary.load(backend).open(model: model.path, options: options)
    classCount = network.description.numOutputs
    try ClassLabels.validate(labels, count: labels.count, classCount: classCount, name: "test labels")
    logits = try network.forward(inputs, count: labels.count).logits
    let c = classCount
    let values = logits
    margins = labels.enumerated().map { x, label in
      Margin.of(logits: values[(x * c)..<((x + 1) * c)].map(Double.init), label: label)
    }
  }
}
