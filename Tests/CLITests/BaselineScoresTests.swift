import ArrayIO
import EntkTestSupport
import Foundation
import Testing

/// `entk attribute --baseline grad-dot --baseline grad-cos` on an ensemble of two MLPs: the stored
/// scores equal tools/loss_gradient_reference.py's, which back-propagates the cross-entropy by hand
/// in float64 numpy from the models' weight files and averages over the models.
@Test func baselineScoresMatchHandBackPropagatedLossGradients() throws {
  let data = try TinyDigits()
  defer { data.remove() }
  let models = [try data.trainModel("a", seed: 1), try data.trainModel("b", seed: 2)]
  let result = try runEntk([
    "attribute", "--kind", "pntk", "--backend", "swiftnet", "--model", models[0], "--model", models[1], "--train",
    data.path("train_x.npy"), "--test", data.path("test_x.npy"), "--train-labels", data.path("train_y.npy"),
    "--test-labels", data.path("test_y.npy"), "--baseline", "grad-dot", "--baseline", "grad-cos", "--threads", "1",
    "--out", data.path("bundle"),
  ])
  #expect(result.status == 0, "\(result.stderr)")
  let reference = try runCommand(
    URL(fileURLWithPath: "/usr/bin/env"),
    [
      "python3", TestEnvironment.repositoryRoot.appendingPathComponent("tools/loss_gradient_reference.py").path,
      data.path("train_x.npy"), data.path("train_y.npy"), data.path("test_x.npy"), data.path("test_y.npy"),
      data.path("reference"),
    ] + models)
  #expect(reference.status == 0, "\(reference.stderr)")
  for method in ["grad-dot", "grad-cos"] {
    let stored = try NPYFile.read(URL(fileURLWithPath: data.path("bundle/scores_\(method).npy")))
    let expected = try NPYFile.read(URL(fileURLWithPath: data.path("reference-\(method).npy"))).float64Values()
    #expect(stored.shape == [data.testCount, data.trainCount])
    let scale = expected.map(abs).max() ?? 1
    var worst = 0.0
    for (value, wanted) in zip(stored.float64Values(), expected) { worst = max(worst, abs(value - wanted)) }
    #expect(worst <= 1e-5 * scale, "\(method): largest difference \(worst) (scores up to \(scale))")
  }
  let baselines = try data.json("bundle/manifest.json")["baselines"] as? [[String: Any]] ?? []
  #expect(baselines.compactMap { $0["method"] as? String } == ["grad-dot", "grad-cos"])
  #expect(baselines.allSatisfy { $0["referenceClass"] as? String == "label" })
  let validation = try runCommand(
    URL(fileURLWithPath: "/usr/bin/env"),
    [
      "python3", TestEnvironment.repositoryRoot.appendingPathComponent("tools/validate_bundle.py").path,
      data.path("bundle"),
    ])
  #expect(validation.status == 0, "\(validation.stderr)")
  // `entk report` reads the bundle back, scores included (their checksums and shapes verified).
  #expect(try runEntk(["report", data.path("bundle")]).status == 0)
}

/// A baseline without the inputs to take loss gradients of is a usage error before any work.
@Test func baselineNeedsTheInputs() throws {
  let data = try TinyDigits()
  defer { data.remove() }
  let result = try runEntk([
    "attribute", "--train-kernel", data.path("K.npy"), "--test-kernel", data.path("T.npy"), "--train-labels",
    data.path("train_y.npy"), "--baseline", "grad-dot", "--out", data.path("bundle"),
  ])
  #expect(result.status == 2)
  #expect(result.stderr.contains("--baseline computes loss gradients of the inputs"), "\(result.stderr)")
  let unknown = try runEntk([
    "attribute", "--train-kernel", data.path("K.npy"), "--test-kernel", data.path("T.npy"), "--train-labels",
    data.path("train_y.npy"), "--baseline", "influence", "--out", data.path("bundle"),
  ])
  #expect(unknown.status == 2)
}
