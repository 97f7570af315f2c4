import EntkTestSupport
import Foundation
import Testing

/// The spellings replaced when every subcommand took one vocabulary keep working for one release:
/// the same result as the current spelling, and a deprecation line on stderr naming it.
@Test func trainAcceptsTheOldSpellingsWithADeprecationMessage() throws {
  let data = try TinyDigits(trainCount: 24, testCount: 8)
  defer { data.remove() }
  let common = ["train", "--backend", "swiftnet", "--epochs", "1", "--seed", "2", "--json"]
  let current = try runEntk(
    common + [
      "--model", TinyDigits.architecture, "--train", data.path("train_x.npy"), "--train-labels",
      data.path("train_y.npy"), "--test", data.path("test_x.npy"), "--test-labels", data.path("test_y.npy"),
      "--learning-rate", "0.01", "--out", data.path("current"),
    ])
  #expect(current.status == 0, "\(current.stderr)")
  #expect(!current.stderr.contains("deprecated"), "\(current.stderr)")
  let old = try runEntk(
    common + [
      "--arch", TinyDigits.architecture, "--train-x", data.path("train_x.npy"), "--train-y", data.path("train_y.npy"),
      "--test-x", data.path("test_x.npy"), "--test-y", data.path("test_y.npy"), "--lr=0.01", "--out", data.path("old"),
    ])
  #expect(old.status == 0, "\(old.stderr)")
  for (spelling, replacement) in [
    ("--arch", "--model"), ("--train-x", "--train"), ("--train-y", "--train-labels"), ("--test-x", "--test"),
    ("--test-y", "--test-labels"), ("--lr", "--learning-rate"),
  ] {
    #expect(
      old.stderr.contains("entk train: \(spelling) is deprecated, use \(replacement)"), "\(spelling): \(old.stderr)")
  }
  // The same training: the same accuracies and the same loss after the epoch.
  func summary(_ output: String) throws -> [String: Any] {
    try #require(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [String: Any])
  }
  let (a, b) = (try summary(current.stdout), try summary(old.stdout))
  #expect(a["trainAccuracy"] as? Double == b["trainAccuracy"] as? Double)
  #expect(a["testAccuracy"] as? Double == b["testAccuracy"] as? Double)
  #expect(a["trainingOptions"] as? String == b["trainingOptions"] as? String)
}

@Test func checkBackendAcceptsThePositionalBackendWithADeprecationMessage() throws {
  let model = TestEnvironment.fixture("example-c-mlp").path
  let current = try runEntk(["check-backend", "--model", model, "--backend", "example-c"])
  let old = try runEntk(["check-backend", "--model", model, "example-c"])
  #expect(current.status == 0 && old.status == 0, "\(current.stderr)\(old.stderr)")
  #expect(!current.stderr.contains("deprecated"))
  #expect(
    old.stderr.contains(
      "entk check-backend: the backend as a positional argument is deprecated, use --backend example-c"),
    "\(old.stderr)")
  // The same checks, passed the same way (details hold timings, so only names and outcomes).
  func outcomes(_ output: String) -> [Substring] { output.split(separator: "\n").map { $0.prefix(40) } }
  #expect(outcomes(current.stdout) == outcomes(old.stdout))
}

/// Spellings are rewritten only where they were spelled that way: `inspect` never took
/// `--train-x`, so it stays an unknown option there.
@Test func oldSpellingsAreOnlyRewrittenForTheCommandsThatHadThem() throws {
  let result = try runEntk(["inspect", "--backend", "example-c", "--model", "m", "--train-x", "x.npy"])
  #expect(result.status == 2, "\(result.stderr)")
  #expect(result.stderr.contains("Unknown option '--train-x'"), "\(result.stderr)")
  #expect(!result.stderr.contains("deprecated"))
}

/// `train`, like `attribute`, refuses an existing --out unless --force replaces it.
@Test func trainRefusesAnExistingOutUnlessForced() throws {
  let data = try TinyDigits(trainCount: 24, testCount: 8)
  defer { data.remove() }
  let arguments = [
    "train", "--backend", "swiftnet", "--model", TinyDigits.architecture, "--train", data.path("train_x.npy"),
    "--train-labels", data.path("train_y.npy"), "--epochs", "1", "--out", data.path("model"),
  ]
  #expect(try runEntk(arguments).status == 0)
  let before = try FileManager.default.contentsOfDirectory(atPath: data.path("model")).sorted()
  let again = try runEntk(arguments)
  #expect(again.status == 3, "\(again.stderr)")
  #expect(again.stderr.contains("model: already exists; give --force to replace it"), "\(again.stderr)")
  #expect(try FileManager.default.contentsOfDirectory(atPath: data.path("model")).sorted() == before)
  let forced = try runEntk(arguments + ["--force"])
  #expect(forced.status == 0, "\(forced.stderr)")
  #expect(try FileManager.default.contentsOfDirectory(atPath: data.path("model")).sorted() == before)
  let siblings = try FileManager.default.contentsOfDirectory(atPath: data.directory.path)
  #expect(!siblings.contains { $0.contains(".partial-") }, "\(siblings)")
}

/// The evaluate commands that train share train's spellings, old and new.
@Test(arguments: ["subsets", "mislabel", "remove"])
func evaluateCommandsRewriteTheOldTrainingSpellings(command: String) throws {
  let result = try runEntk(["evaluate", command, "--train-x", "x.npy", "--test-y", "y.npy", "--arch", "a", "--lr=0.1"])
  #expect(result.status == 2, "\(result.stderr)")
  for (old, new) in [
    ("--train-x", "--train"), ("--test-y", "--test-labels"), ("--arch", "--model"), ("--lr", "--learning-rate"),
  ] {
    #expect(result.stderr.contains("entk evaluate \(command): \(old) is deprecated, use \(new)"), "\(result.stderr)")
  }
  // Parsing went on with the new spellings: what is missing is named by them.
  #expect(!result.stderr.contains("Unknown option"), "\(result.stderr)")
}
