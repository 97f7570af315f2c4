import ArrayIO
import EntkTestSupport
import Foundation
import Testing

/// `entk attribute` computing the network's logits itself: the swiftnet backend and the digits
/// CNN on the first 40 training and 12 test images, with a cosine kernel of the raw pixels standing
/// in for an eNTK (the kernel stage is tested elsewhere; here only the logits path matters).
@Test func attributeComputesLogitsWithTheBackendAndFitsToItsPredictions() throws {
  let directory = try TestEnvironment.temporaryDirectory()
  defer { try? FileManager.default.removeItem(at: directory) }
  let digits = TestEnvironment.repositoryRoot.appendingPathComponent("examples/digits")
  let trainAll = try NPYFile.read(digits.appendingPathComponent("train_x.npy")).float32Values()
  let testAll = try NPYFile.read(digits.appendingPathComponent("test_x.npy")).float32Values()
  let trainLabels = try NPYFile.read(digits.appendingPathComponent("train_y.npy")).int64Values()
  let testLabels = try NPYFile.read(digits.appendingPathComponent("test_y.npy")).int64Values()
  let (n, m) = (40, 12)
  let train = Array(trainAll.prefix(n * 64))
  let test = Array(testAll.prefix(m * 64))
  func cosine(_ a: [Float], _ rows: Int, _ b: [Float], _ columns: Int) -> [Float] {
    func norm(_ x: [Float], _ i: Int) -> Float {
      (0..<64).reduce(0) { $0 + x[i * 64 + $1] * x[i * 64 + $1] }.squareRoot()
    }
    var k = [Float](repeating: 0, count: rows * columns)
    for i in 0..<rows {
      for j in 0..<columns {
        let dot = (0..<64).reduce(Float(0)) { $0 + a[i * 64 + $1] * b[j * 64 + $1] }
        k[i * columns + j] = dot / (norm(a, i) * norm(b, j))
      }
    }
    return k
  }
  func path(_ name: String) -> String { directory.appendingPathComponent(name).path }
  try NPYFile.write(NPYArray(float32: train, shape: [n, 1, 8, 8]), to: URL(fileURLWithPath: path("train_x.npy")))
  try NPYFile.write(NPYArray(float32: test, shape: [m, 1, 8, 8]), to: URL(fileURLWithPath: path("test_x.npy")))
  try NPYFile.write(
    NPYArray(int64: Array(trainLabels.prefix(n)), shape: [n]), to: URL(fileURLWithPath: path("train_y.npy")))
  try NPYFile.write(
    NPYArray(int64: Array(testLabels.prefix(m)), shape: [m]), to: URL(fileURLWithPath: path("test_y.npy")))
  try NPYFile.write(
    NPYArray(float32: cosine(train, n, train, n), shape: [n, n]), to: URL(fileURLWithPath: path("K.npy")))
  try NPYFile.write(
    NPYArray(float32: cosine(test, m, train, n), shape: [m, n]), to: URL(fileURLWithPath: path("T.npy")))
  let model = digits.appendingPathComponent("cnn-trained").path
  let result = try runEntk([
    "attribute", "--backend", "swiftnet", "--model", model, "--train-kernel", path("K.npy"), "--test-kernel",
    path("T.npy"),
    "--train-labels", path("train_y.npy"), "--test-labels", path("test_y.npy"), "--train", path("train_x.npy"),
    "--test", path("test_x.npy"), "--target", "network-predictions", "--out", path("bundle"),
  ])
  #expect(result.status == 0, "\(result.stderr)")
  #expect(result.stderr.contains("computing the network's test logits with backend swiftnet"))
  #expect(result.stderr.contains("computing the network's train logits with backend swiftnet"))
  let validation = try runCommand(
    URL(fileURLWithPath: "/usr/bin/env"),
    ["python3", TestEnvironment.repositoryRoot.appendingPathComponent("tools/validate_bundle.py").path, path("bundle")])
  #expect(validation.status == 0, "\(validation.stderr)")
  // The manifest records the model with its checksum-less folder path and the backend's library.
  let manifest = try JSONSerialization.jsonObject(
    with: Data(contentsOf: URL(fileURLWithPath: path("bundle/manifest.json"))))
  let record = (manifest as? [String: Any])?["model"] as? [String: Any]
  #expect(record?["backend"] as? String == "swiftnet")
  #expect((record?["backendPath"] as? String)?.hasSuffix("libentk-backend-swiftnet.so") == true)
  // The CNN gets these 12 digits right, so its logits were really computed.
  let metrics = try JSONSerialization.jsonObject(
    with: Data(contentsOf: URL(fileURLWithPath: path("bundle/metrics.json"))))
  let faithfulness = (metrics as? [String: Any])?["faithfulness"] as? [String: Any]
  #expect((faithfulness?["networkAccuracy"] as? Double ?? 0) >= 0.9)

  // Without logits and without a backend, the error says what is missing.
  let missing = try runEntk([
    "attribute", "--train-kernel", path("K.npy"), "--test-kernel", path("T.npy"), "--train-labels", path("train_y.npy"),
    "--out", path("other"),
  ])
  #expect(missing.status == 3)
  #expect(missing.stderr.contains("the network's test logits are needed"))
  #expect(!FileManager.default.fileExists(atPath: path("other")))
}
