import ArrayIO
import BackendLoader
import Foundation
import Kernels
import Reporter

/// The network's logits for an attribution: read from a file, or computed by a forward pass
/// through the backend when one is known.
struct NetworkLogits {
  var backend: String?
  var model: String?
  var options: String?
  var log: (String) -> Void

  /// Logits for `count` points of `role` ("train" or "test"): float32 [count, C].
  func logits(role: String, file: String?, inputs: AttributeSamples?, count: Int) throws -> NPYArray {
    if let file {
      let array = try ArrayFile.readFiniteFloat32(URL(fileURLWithPath: file))
      guard array.shape.first == count else {
        throw AttributeError.rowCount(
          path: file, expected: count, actual: array.shape.first ?? 0,
          meaning: "one row of logits per \(role) point in the kernel")
      }
      return array
    }
    guard let backend, let model, let inputs else {
      throw AttributeError.missingLogits(
        role: role,
        needed: "have backend: \(backend ?? "no"), model: \(model ?? "no"), --\(role): \(inputs == nil ? "no" : "yes")")
    }
    log("attribute: computing the network's \(role) logits with backend \(backend)")
    let opened = try BackendLibrary.load(backend).open(model: model, options: options)
    let samples = try inputs.samples(for: opened.description.inputs)
    var logits: [Float] = []
    let batch = 256
    for start in stride(from: 0, to: samples.count, by: batch) {
      logits += try opened.forward(samples.batch(start..<min(samples.count, start + batch))).logits
    }
    return NPYArray(float32: logits, shape: [samples.count, opened.description.numOutputs])
  }

  /// The model as recorded in the manifest, with the SHA-256 of its file or folder (`ContentDigest`).
  func record() throws -> Manifest.ModelRecord? {
    guard let model else { return nil }
    let url = URL(fileURLWithPath: model)
    let sha = FileManager.default.fileExists(atPath: model) ? try ContentDigest.hex(of: url) : nil
    let backendPath = backend.flatMap { try? BackendLibrary.load($0).url.path }
    return Manifest.ModelRecord(backend: backend, backendPath: backendPath, path: model, sha256: sha)
  }
}
