import ArrayIO
import Foundation

/// What `entk report` and `entk explain` verify before they index with a bundle's numbers: each
/// file they read has the SHA-256 `manifest.json` records, and the files agree with each other
/// (counts against array shapes, indices against counts), so an edited bundle is refused with the
/// file, field and value instead of trapping.
extension AttributionBundle {
  /// Refuses `names` (bundle file names) unless each is listed in `manifest.files` with its
  /// current SHA-256.
  static func verifyChecksums(of names: [String], at url: URL, manifest: Manifest) throws {
    let manifestPath = url.appendingPathComponent(BundleFormat.manifest).path
    for name in names {
      guard let entry = manifest.files.first(where: { $0.path == name }) else {
        throw ReporterError.invalidField(
          path: manifestPath, field: "files", value: "without \(name)", reason: "every file of the bundle is listed")
      }
      let file = url.appendingPathComponent(name)
      let actual: String
      do {
        actual = try SHA256.hex(fileAt: file)
      } catch {
        throw ReporterError.cannotRead(path: file.path, reason: FileSystemReason.of(error, path: file.path))
      }
      guard actual == entry.sha256 else {
        throw ReporterError.checksumMismatch(path: file.path, recorded: entry.sha256, actual: actual)
      }
    }
  }

  /// Checks the arrays' shapes against each other and `attributions.json` and `metrics.json`
  /// against them.
  func checkConsistency(at url: URL) throws {
    func path(_ name: String) -> String { url.appendingPathComponent(name).path }
    func refuse(_ name: String, _ field: String, _ value: Any, _ reason: String) -> ReporterError {
      ReporterError.invalidField(path: path(name), field: field, value: "\(value)", reason: reason)
    }
    let train = trainKernel.shape
    guard train.count == 2 || train.count == 3, let n = train.last, n >= 1, train[train.count - 2] == n,
      train.count == 2 || train[0] >= 1
    else { throw refuse(BundleFormat.trainKernel, "shape", train, "expected [N, N] or [L, N, N]") }
    let layers = train.count == 3 ? train[0] : 1
    let test = testKernel.shape
    let expectedTest = train.count == 3 ? [layers, -1, n] : [-1, n]
    guard test.count == train.count, test.last == n, test.count == 2 || test[0] == layers, test[test.count - 2] >= 1
    else {
      throw refuse(BundleFormat.testKernel, "shape", test, "expected \(expectedTest) (M ≥ 1) beside the train kernel")
    }
    let m = test[test.count - 2]
    let weights = surrogateWeights.shape
    guard weights.count == 2, weights[0] >= 1, weights[1] == layers * n else {
      throw refuse(BundleFormat.surrogateWeights, "shape", weights, "expected [C, \(layers * n)] (C ≥ 1)")
    }
    let c = weights[0]
    let expected: [(String, NPYArray?, [Int])] = [
      (BundleFormat.surrogateBias, surrogateBias, [c]), (BundleFormat.networkTestLogits, networkTestLogits, [m, c]),
      (BundleFormat.surrogateTestLogits, surrogateTestLogits, [m, c]), (BundleFormat.trainLabels, trainLabels, [n]),
      (BundleFormat.fitTargets, fitTargets, [n]), (BundleFormat.testLabels, testLabels, [m]),
    ]
    for (name, array, shape) in expected {
      if let array, array.shape != shape { throw refuse(name, "shape", array.shape, "expected \(shape)") }
    }
    for (name, array) in baselineScores where array.shape != [m, n] {
      throw refuse(name, "shape", array.shape, "expected [\(m), \(n)]")
    }
    for (name, array, count) in [(BundleFormat.trainInputs, trainInputs, n), (BundleFormat.testInputs, testInputs, m)] {
      if let array, array.shape.first != count {
        throw refuse(name, "shape", array.shape, "expected \(count) samples first")
      }
    }
    try texts?.check(trainCount: n, testCount: m, path: path(BundleFormat.texts))
    try attributions.check(path: path(BundleFormat.attributions))
    let counts = [
      ("classCount", attributions.classCount, c), ("trainCount", attributions.trainCount, n),
      ("testCount", attributions.testCount, m), ("layerCount", attributions.layerCount, layers),
    ]
    for (field, value, arrays) in counts where value != arrays {
      throw refuse(BundleFormat.attributions, field, value, "the bundle's arrays give \(arrays)")
    }
    let faithfulness = metrics.faithfulness
    guard faithfulness.classCount == c else {
      throw refuse(BundleFormat.metrics, "faithfulness.classCount", faithfulness.classCount, "the arrays give \(c)")
    }
    guard faithfulness.perClassLogits.count == c else {
      throw refuse(
        BundleFormat.metrics, "faithfulness.perClassLogits", "\(faithfulness.perClassLogits.count) entries",
        "expected one per class, \(c)")
    }
  }
}

extension AttributionsFile {
  /// Checks the file against its own counts: C, N, M and L at least 1, layer names one per
  /// layer, and every test point's indices, classes, layer sums and listed neighbours in range.
  /// - Parameter path: the file named in errors.
  public func check(path: String) throws {
    func refuse(_ field: String, _ value: Any, _ reason: String) -> ReporterError {
      ReporterError.invalidField(path: path, field: field, value: "\(value)", reason: reason)
    }
    for (field, value) in [
      ("classCount", classCount), ("trainCount", trainCount), ("testCount", testCount), ("layerCount", layerCount),
      ("topK", topK),
    ] where value < 1 {
      throw refuse(field, value, "expected at least 1")
    }
    if let layerNames, layerNames.count != layerCount {
      throw refuse("layerNames", "\(layerNames.count) entries", "layerCount is \(layerCount)")
    }
    guard testPoints.count <= testCount else {
      throw refuse("testPoints", "\(testPoints.count) entries", "testCount is \(testCount)")
    }
    for (p, point) in testPoints.enumerated() {
      let at = "testPoints[\(p)]"
      guard (0..<testCount).contains(point.testIndex) else {
        throw refuse("\(at).testIndex", point.testIndex, "expected 0..<\(testCount) (testCount)")
      }
      guard (0..<classCount).contains(point.surrogatePrediction) else {
        throw refuse("\(at).surrogatePrediction", point.surrogatePrediction, "expected 0..<\(classCount) (classCount)")
      }
      if let prediction = point.networkPrediction, !(0..<classCount).contains(prediction) {
        throw refuse("\(at).networkPrediction", prediction, "expected 0..<\(classCount) (classCount)")
      }
      guard point.classes.count == classCount else {
        throw refuse("\(at).classes", "\(point.classes.count) entries", "expected one per class, \(classCount)")
      }
      for (c, attribution) in point.classes.enumerated() {
        let here = "\(at).classes[\(c)]"
        guard attribution.classIndex == c else {
          throw refuse("\(here).classIndex", attribution.classIndex, "expected \(c)")
        }
        guard attribution.layerContributions.count == layerCount else {
          throw refuse(
            "\(here).layerContributions", "\(attribution.layerContributions.count) entries",
            "expected one per layer, \(layerCount)")
        }
        for (kind, list) in [("proponents", attribution.proponents), ("opponents", attribution.opponents)] {
          guard list.count <= topK else { throw refuse("\(here).\(kind)", "\(list.count) entries", "topK is \(topK)") }
          for (rank, entry) in list.enumerated() {
            guard (0..<trainCount).contains(entry.trainIndex) else {
              throw refuse("\(here).\(kind)[\(rank)].trainIndex", entry.trainIndex, "expected 0..<\(trainCount)")
            }
            if let scores = entry.layerScores, scores.count != layerCount {
              throw refuse(
                "\(here).\(kind)[\(rank)].layerScores", "\(scores.count) entries",
                "expected one per layer, \(layerCount)")
            }
          }
        }
      }
    }
  }
}

extension SampleTexts {
  /// Checks that at least one list is present and that each has one text per point.
  /// - Parameter path: the file named in errors.
  func check(trainCount: Int, testCount: Int, path: String) throws {
    guard train != nil || test != nil else {
      throw ReporterError.invalidField(
        path: path, field: "train and test", value: "absent", reason: "a texts file holds at least one of them")
    }
    for (field, list, count) in [("train", train, trainCount), ("test", test, testCount)] {
      if let list, list.count != count {
        throw ReporterError.invalidField(
          path: path, field: field, value: "\(list.count) texts", reason: "expected one per \(field) point, \(count)")
      }
    }
  }
}
