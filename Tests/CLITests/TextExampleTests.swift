import ArrayIO
import EntkTestSupport
import Foundation
import Testing

/// examples/text end to end on its first sentences: the tiny BERT (int64 input_ids and
/// attention_mask) through the onnx backend, kernels, surrogate and a bundle whose report shows the
/// sentences; the network's logits against torch's (test_logits.npy, written by
/// tools/train_text_classifier.py).
@Test func theTextExampleExplainsSentencesWithTheOnnxBackend() throws {
  let directory = try TestEnvironment.temporaryDirectory()
  defer { try? FileManager.default.removeItem(at: directory) }
  let example = TestEnvironment.repositoryRoot.appendingPathComponent("examples/text")
  let (trainCount, testCount) = (60, 12)
  // The first sentences of each set: arrays sliced with numpy, text files cut to as many lines.
  let slice = """
    import sys, numpy as np
    example, out, n, m = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    for part, count in [("train", n), ("test", m)]:
        arrays = np.load(f"{example}/{part}.npz")
        np.savez(f"{out}/{part}.npz", **{name: arrays[name][:count] for name in arrays.files})
        np.save(f"{out}/{part}_labels.npy", np.load(f"{example}/{part}_labels.npy")[:count])
        lines = open(f"{example}/{part}.txt", encoding="utf-8").read().splitlines()[:count]
        open(f"{out}/{part}.txt", "w", encoding="utf-8").write("".join(line + "\\n" for line in lines))
    """
  let sliced = try runCommand(
    URL(fileURLWithPath: "/usr/bin/env"),
    ["python3", "-c", slice, example.path, directory.path, "\(trainCount)", "\(testCount)"])
  try #require(sliced.status == 0, "\(sliced.stderr)")
  func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

  let result = try runEntk([
    "attribute", "--backend", "onnx", "--model", example.appendingPathComponent("model.onnx").path, "--kind", "trntk",
    "--threads", "1", "--train", path("train.npz"), "--train-labels", path("train_labels.npy"), "--train-text",
    path("train.txt"), "--test", path("test.npz"), "--test-labels", path("test_labels.npy"), "--test-text",
    path("test.txt"), "--top-k", "5", "--out", path("bundle"),
  ])
  try #require(result.status == 0, "\(result.stderr)")
  let validation = try runCommand(
    URL(fileURLWithPath: "/usr/bin/env"),
    ["python3", TestEnvironment.repositoryRoot.appendingPathComponent("tools/validate_bundle.py").path, path("bundle")])
  #expect(validation.status == 0 && validation.stdout.contains("bundle ok"), "\(validation.stderr)")

  let network = try NPYFile.read(URL(fileURLWithPath: path("bundle/network_test_logits.npy"))).float32Values()
  let torch = try NPYFile.read(example.appendingPathComponent("test_logits.npy")).float32Values()
  #expect(network.count == testCount * 2)
  let difference = zip(network, torch).map { abs($0 - $1) }.max() ?? .infinity
  #expect(difference < 1e-4, "entk's logits differ from torch's by \(difference)")

  // A texts file of another length is refused before any kernel is computed.
  let short = try runEntk(
    [
      "attribute", "--backend", "onnx", "--model", example.appendingPathComponent("model.onnx").path, "--kind", "trntk",
      "--train", path("train.npz"), "--train-labels", path("train_labels.npy"), "--train-text", path("test.txt"),
      "--test", path("test.npz"), "--out", path("bundle-text"),
    ])
  #expect(short.status == 3)
  #expect(
    short.stderr.contains("test.txt: \(testCount) lines, expected \(trainCount) (--train-text"), "\(short.stderr)")
  // The memory budget is resolved with the options; nothing else happens before the refusal.
  let lines = short.stderr.split(separator: "\n").filter { !$0.hasPrefix("memory: --memory not given") }
  #expect(lines.count == 1, "only the error, no kernel progress: \(short.stderr)")

  let html = try String(contentsOfFile: path("bundle/report.html"), encoding: .utf8)
  let first = try String(contentsOfFile: path("test.txt"), encoding: .utf8).split(separator: "\n")[0]
  #expect(html.contains("<p class=\"text\">\(first)</p>"), "the first test sentence is shown as text")
  #expect(!html.contains("<img class=\"px\""))
}
