import EntkTestSupport
import Foundation
import Testing

@Test func backendsListsExampleCAsJSON() throws {
  let result = try runEntk(["backends", "--json"])
  #expect(result.status == 0)
  let entries = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String: Any]])
  let exampleC = try #require(entries.first { $0["name"] as? String == "example-c" })
  #expect(exampleC["abi"] as? String == "1.1")  // example-c fills the ABI 1.1 factor slots
  #expect((exampleC["path"] as? String)?.hasSuffix("libentk-backend-example-c.so") == true)
}

@Test func backendsListsAnUnusableLibraryWithItsError() throws {
  let directory = try TestEnvironment.temporaryDirectory()
  try Data("junk".utf8).write(to: directory.appendingPathComponent("libentk-backend-junk.so"))
  let result = try runEntk(["backends"], environment: ["ENTK_BACKEND_PATH": directory.path])
  #expect(result.status == 0)
  #expect(result.stdout.contains("junk  (unusable:"))
  #expect(result.stdout.contains("example-c"))
}

@Test func inspectPrintsShapesAndGroups() throws {
  let result = try runEntk([
    "inspect", "--backend", "example-c", "--model", TestEnvironment.fixture("example-c-mlp").path, "--json",
  ])
  #expect(result.status == 0, "\(result.stderr)")
  let report = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
  let description = try #require(report["description"] as? [String: Any])
  #expect(description["numParams"] as? Int == 111)
  #expect(description["inputShape"] as? [Int] == [5])
  // The 5-7-6-3 MLP factors every layer with a = [input; 1]: (6 + 3·7) + (8 + 3·6) + (7 + 3·3).
  #expect(report["factoredRowLength"] as? Int == 69)
  let factored = try #require(report["factoredGroups"] as? [[String: Any]])
  #expect(factored.map { $0["inputDim"] as? Int } == [6, 8, 7])
  #expect(factored.map { $0["outputDim"] as? Int } == [7, 6, 3])
}

/// The digits CNN (examples/digits/cnn.onnx): its dense layers factor; its convolutions do not,
/// and inspect says why (conv1 runs at every pixel of the 8×8 input, conv2 after 2×2 pooling).
@Test func inspectSaysWhyGroupsDoNotFactor() throws {
  let model = TestEnvironment.repositoryRoot.appendingPathComponent("examples/digits/cnn.onnx").path
  let json = try runEntk(["inspect", "--backend", "onnx", "--model", model, "--json"])
  #expect(json.status == 0, "\(json.stderr)")
  let report = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
  let plain = try #require(report["plainGroups"] as? [[String: String]])
  #expect(plain.map { $0["name"] } == ["conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias"])
  #expect(
    plain.first?["reason"]
      == "Conv '/conv1/Conv' applies it at 64 positions: whole columns cost less than a sum of 64 patch terms")
  #expect(plain.last?["reason"] == "Conv '/conv2/Conv' applies it at 16 positions")
  #expect((report["factoredGroups"] as? [[String: Any]])?.count == 4)

  let text = try runEntk(["inspect", "--backend", "onnx", "--model", model])
  #expect(text.status == 0, "\(text.stderr)")
  let lines = text.stdout.split(separator: "\n")
  #expect(
    lines.contains {
      $0.contains("conv2.weight")
        && $0.hasSuffix(
          "plain: Conv '/conv2/Conv' applies it at 16 positions: whole columns cost less than a sum of 16 patch terms")
    })
  #expect(lines.contains { $0.contains("fc1.weight") && $0.hasSuffix("factored a 128 × Δ 64") })
}

@Test func inspectOfAMissingModelExitsWithTheBackendCode() throws {
  let result = try runEntk(["inspect", "--backend", "example-c", "--model", "/nonexistent/model"])
  #expect(result.status == 4)
  #expect(result.stderr.contains("entk: error: backend 'example-c': open failed (not found)"))
  #expect(result.stdout.isEmpty)
}

@Test func unknownBackendExitsWithTheBackendCodeAndSaysWhereItLooked() throws {
  let result = try runEntk(["inspect", "--backend", "no-such-backend", "--model", "m"])
  #expect(result.status == 4)
  #expect(result.stderr.contains("libentk-backend-no-such-backend.so"))
}

@Test func usageErrorsExitWithCode2() throws {
  #expect(try runEntk(["inspect", "--backend", "example-c"]).status == 2)
  #expect(try runEntk(["no-such-command"]).status == 2)
}
