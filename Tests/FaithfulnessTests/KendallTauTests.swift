import EntkTestSupport
import Faithfulness
import Foundation
import Testing

@Test func tauBOfHandWorkedCases() throws {
  // Perfect agreement and reversal.
  #expect(KendallTau.tauB([1, 2, 3, 4], [10, 20, 30, 40]) == 1)
  #expect(KendallTau.tauB([1, 2, 3, 4], [4, 3, 2, 1]) == -1)
  // x = [1,2,3], y = [1,3,2]: 2 concordant, 1 discordant, no ties: τ = 1/3.
  #expect(abs(try #require(KendallTau.tauB([1, 2, 3], [1, 3, 2])) - 1.0 / 3.0) < 1e-15)
  // x = [1,1,2], y = [1,2,3]: n0 = 3, n1 = 1, n2 = 0, nc = 2, nd = 0: τ_b = 2/√(2·3).
  #expect(abs(try #require(KendallTau.tauB([1, 1, 2], [1, 2, 3])) - 2 / 6.0.squareRoot()) < 1e-15)
  // Undefined for a constant variable or a single point.
  #expect(KendallTau.tauB([1, 1, 1], [1, 2, 3]) == nil)
  #expect(KendallTau.tauB([1], [1]) == nil)
}

@Test func tauBAndPearsonMatchScipyWithTies() throws {
  // Values drawn from a small set so ties in x, in y and in both are frequent.
  var state: UInt64 = 12345
  func next() -> Double {
    state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
    return Double((state >> 33) % 7)
  }
  let x = (0..<500).map { _ in next() }
  let y = x.map { $0 + next() - 3 }
  let directory = try TestEnvironment.temporaryDirectory()
  defer { try? FileManager.default.removeItem(at: directory) }
  let script = directory.appendingPathComponent("tau.py")
  try """
  import sys, json
  from scipy.stats import kendalltau, pearsonr
  d = json.load(open(sys.argv[1]))
  print(json.dumps([kendalltau(d["x"], d["y"], variant="b").statistic, pearsonr(d["x"], d["y"]).statistic]))
  """.write(to: script, atomically: true, encoding: .utf8)
  let data = directory.appendingPathComponent("data.json")
  try JSONEncoder().encode(["x": x, "y": y]).write(to: data)
  let result = try runCommand(URL(fileURLWithPath: "/usr/bin/env"), ["python3", script.path, data.path])
  #expect(result.status == 0, "\(result.stderr)")
  let expected = try JSONDecoder().decode([Double].self, from: Data(result.stdout.utf8))
  #expect(abs(try #require(KendallTau.tauB(x, y)) - expected[0]) < 1e-12)
  #expect(abs(try #require(PearsonCorrelation.r(x, y)) - expected[1]) < 1e-12)
}
