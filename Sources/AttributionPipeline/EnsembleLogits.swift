import ArrayIO
import Foundation
import Reporter

/// The network's logits for an attribution when it explains one model or an ensemble: read from a
/// file, or each model's computed by `NetworkLogits` and averaged (an ensemble predicts with its
/// mean logits, the function whose eNTK is the mean kernel; docs/method.md, "Ensembles").
struct EnsembleLogits {
  var backend: String?
  /// The models, in the order given; empty when none is known.
  var models: [String]
  var options: String?
  var log: (String) -> Void

  /// Logits for `count` points of `role` ("train" or "test"): float32 [count, C].
  func logits(role: String, file: String?, inputs: AttributeSamples?, count: Int) throws -> NPYArray {
    let members = file == nil && models.count > 1 ? models.map { Optional($0) } : [models.first]
    var sum: [Double] = []
    var shape: [Int] = []
    for model in members {
      let array = try NetworkLogits(backend: backend, model: model, options: options, log: log)
        .logits(role: role, file: file, inputs: inputs, count: count)
      if sum.isEmpty {
        sum = [Double](repeating: 0, count: array.count)
        shape = array.shape
      }
      for (index, value) in array.float32Values().enumerated() { sum[index] += Double(value) }
    }
    // Dividing by one leaves a single model's float32 logits exact.
    return NPYArray(float32: sum.map { Float($0 / Double(members.count)) }, shape: shape)
  }

  /// Every model as recorded in the manifest, with its file's SHA-256 when it is a file.
  func records() throws -> [Manifest.ModelRecord] {
    try models.compactMap { try NetworkLogits(backend: backend, model: $0, options: options, log: log).record() }
  }
}
