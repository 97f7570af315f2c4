// modules: ArrayIO Surrogate Faithfulness Attribution Evaluation Reporter
import Foundation
import Reporter

/// `entk report` and `entk explain` on a bundle made from the input: the parts are, in order,
/// manifest.json and the files of `names` (an empty part stands for an absent file). When part 0
/// decodes as a manifest, its file list is rewritten with the parts' true SHA-256s, so the fuzzer
/// gets past the checksum gate to the consistency checks and the page they protect.
let names = [
  BundleFormat.metrics, BundleFormat.attributions, BundleFormat.trainKernel, BundleFormat.testKernel,
  BundleFormat.surrogateWeights, BundleFormat.surrogateBias, BundleFormat.networkTestLogits,
  BundleFormat.surrogateTestLogits, BundleFormat.trainLabels, BundleFormat.testLabels, BundleFormat.trainInputs,
  BundleFormat.testInputs, BundleFormat.fitTargets, BundleFormat.texts,
]

func fuzz(_ bytes: [UInt8]) {
  let parts = FuzzInput.parts(bytes)
  let folder = FuzzInput.freshFolder("bundle")
  var entries: [BundleFileEntry] = []
  for (name, part) in zip(names, parts.dropFirst()) where !part.isEmpty {
    let data = Data(part)
    try? data.write(to: folder.appendingPathComponent(name))
    entries.append(BundleFileEntry(path: name, sha256: SHA256.hex(data), bytes: data.count))
  }
  var manifestData = Data(parts[0])
  if var manifest = try? JSONDecoder().decode(Manifest.self, from: manifestData) {
    manifest.files = entries
    manifestData = (try? JSONEncoder().encode(manifest)) ?? manifestData
  }
  try? manifestData.write(to: folder.appendingPathComponent(BundleFormat.manifest))
  if let bundle = try? AttributionBundle.read(from: folder) {
    _ = ReportPage(bundle: bundle).html()
  }
  if let attributions = try? AttributionBundle.readAttributions(from: folder) {
    // What `entk explain` does with a test point: its classes, by the surrogate's prediction.
    let texts = try? AttributionBundle.readTexts(from: folder, attributions: attributions)
    for point in attributions.testPoints {
      let attribution = point.classes[point.surrogatePrediction]
      _ = texts?.test.map { SampleTexts.terminal($0[point.testIndex]) }
      for entry in attribution.proponents + attribution.opponents {
        _ = texts?.train.map { SampleTexts.terminal($0[entry.trainIndex]) }
      }
    }
    _ = attributions.csv()
  }
}
