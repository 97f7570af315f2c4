import ArrayIO
import EntkTestSupport
import Foundation
import Testing

/// `entk attribute --train-text --test-text`: texts stored in the bundle (texts.json) and shown,
/// HTML-escaped, in the report in place of pictures.
enum TextFixture {
  /// The attribute fixture (48 training, 12 test points) with texts that need escaping; the
  /// training file has CRLF endings.
  static func make() throws -> AttributeFixture {
    let fixture = try AttributeFixture()
    try write((0..<48).map(trainText), to: fixture.path("train.txt"), ending: "\r\n")
    try write((0..<12).map { "test <i>\($0)</i>" }, to: fixture.path("test.txt"), ending: "\n")
    return fixture
  }

  static func trainText(_ index: Int) -> String { "train <b>\(index)</b> & \"q\"" }

  /// How `trainText(index)` must appear in HTML, escaped by hand.
  static func escapedTrainText(_ index: Int) -> String { "train &lt;b&gt;\(index)&lt;/b&gt; &amp; &quot;q&quot;" }

  static func write(_ lines: [String], to path: String, ending: String) throws {
    try Data(lines.map { $0 + ending }.joined().utf8).write(to: URL(fileURLWithPath: path))
  }

  static func arguments(_ fixture: AttributeFixture) -> [String] {
    fixture.arguments() + ["--train-text", fixture.path("train.txt"), "--test-text", fixture.path("test.txt")]
  }

  static func json(_ path: String) throws -> [String: Any] {
    try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path))) as? [String: Any])
  }
}

@Test func attributeWithTextsStoresThemAndTheReportShowsThemEscaped() throws {
  let fixture = try TextFixture.make()
  defer { try? FileManager.default.removeItem(at: fixture.directory) }
  let result = try runEntk(TextFixture.arguments(fixture))
  #expect(result.status == 0, "\(result.stderr)")
  // validate_bundle.py checks texts.json against schemas/texts.schema.json and its counts.
  let validation = try fixture.validate()
  #expect(validation.status == 0, "\(validation.stderr)")

  let texts = try TextFixture.json(fixture.path("bundle/texts.json"))
  #expect(texts["train"] as? [String] == (0..<48).map(TextFixture.trainText))
  #expect(texts["test"] as? [String] == (0..<12).map { "test <i>\($0)</i>" })
  let manifest = try TextFixture.json(fixture.path("bundle/manifest.json"))
  let records = try #require(manifest["data"] as? [[String: Any]])
  let trainRecord = try #require(records.first { $0["role"] as? String == "train-texts" })
  #expect(trainRecord["path"] as? String == fixture.path("train.txt"))
  #expect(trainRecord["shape"] as? [Int] == [48])

  let html = try String(contentsOfFile: fixture.path("bundle/report.html"), encoding: .utf8)
  #expect(!html.contains("<b>") && !html.contains("<i>"))
  // The fixture's inputs are image-shaped, but the texts replace the samples' pictures.
  #expect(!html.contains(#"<img class="px""#))
  // The first explained test point, its text and its top proponent's and opponent's texts, in
  // that order.
  let attributions = try TextFixture.json(fixture.path("bundle/attributions.json"))
  let point = try #require((attributions["testPoints"] as? [[String: Any]])?.first)
  let predicted = try #require(point["surrogatePrediction"] as? Int)
  let classes = try #require(point["classes"] as? [[String: Any]])
  let proponent = try #require((classes[predicted]["proponents"] as? [[String: Any]])?.first?["trainIndex"] as? Int)
  let opponent = try #require((classes[predicted]["opponents"] as? [[String: Any]])?.first?["trainIndex"] as? Int)
  let testText = try #require(html.range(of: "test &lt;i&gt;0&lt;/i&gt;"))
  let proponentText = try #require(html.range(of: TextFixture.escapedTrainText(proponent) + "<"))
  let opponentText = try #require(html.range(of: TextFixture.escapedTrainText(opponent) + "<"))
  #expect(testText.lowerBound < proponentText.lowerBound && proponentText.lowerBound < opponentText.lowerBound)

  // `entk explain` prints the texts too: the test point's, then each neighbour's after its score.
  let explained = try runEntk(["explain", fixture.path("bundle"), "--test-index", "0"])
  #expect(explained.status == 0, "\(explained.stderr)")
  let lines = explained.stdout.split(separator: "\n").map(String.init)
  #expect(lines.count > 2 && lines[1] == "  test <i>0</i>", "\(explained.stdout)")
  #expect(
    lines.contains {
      $0.hasPrefix("   1. train #\(proponent) ") && $0.hasSuffix("  " + TextFixture.trainText(proponent))
    })

  // `entk report` renders the same page from the bundle alone.
  try "stale".write(toFile: fixture.path("bundle/report.html"), atomically: true, encoding: .utf8)
  #expect(try runEntk(["report", fixture.path("bundle")]).status == 0)
  #expect(try String(contentsOfFile: fixture.path("bundle/report.html"), encoding: .utf8) == html)
}

@Test func textFilesOfTheWrongLengthOrEncodingAreRefusedWithoutABundle() throws {
  let fixture = try TextFixture.make()
  defer { try? FileManager.default.removeItem(at: fixture.directory) }
  try TextFixture.write((0..<47).map(TextFixture.trainText), to: fixture.path("short.txt"), ending: "\n")
  try (Data("fine\n".utf8) + Data([0x66, 0xFF, 0x0A])).write(to: URL(fileURLWithPath: fixture.path("latin1.txt")))
  let cases: [(String, String, String)] = [
    ("--train-text", "short.txt", "short.txt: 47 lines, expected 48 (--train-text: one line per training point)"),
    ("--test-text", "train.txt", "train.txt: 48 lines, expected 12 (--test-text: one line per test point)"),
    ("--test-text", "latin1.txt", "latin1.txt:2: not valid UTF-8 text"),
    ("--train-text", "missing.txt", "missing.txt: cannot read: no such file or folder"),
  ]
  for (option, file, message) in cases {
    var arguments = TextFixture.arguments(fixture)
    let index = try #require(arguments.firstIndex(of: option))
    arguments[index + 1] = fixture.path(file)
    let result = try runEntk(arguments)
    #expect(result.status == 3, "\(option) \(file): \(result.stderr)")
    #expect(result.stderr.contains(message), "\(result.stderr)")
    let entries = try FileManager.default.contentsOfDirectory(atPath: fixture.directory.path)
    #expect(!entries.contains { $0 == "bundle" || $0.hasPrefix(".bundle") })
  }
}

@Test func aTextsFileEditedToAnotherCountIsRefusedByBothCheckers() throws {
  let fixture = try TextFixture.make()
  defer { try? FileManager.default.removeItem(at: fixture.directory) }
  #expect(try runEntk(TextFixture.arguments(fixture)).status == 0)
  let url = URL(fileURLWithPath: fixture.path("bundle/texts.json"))
  let edited = Data(#"{"train":["one"]}"#.utf8)
  try edited.write(to: url)
  // Re-signed in the manifest, as a deliberate forger would, so only the count check can catch it.
  let digest = String(try runCommand(URL(fileURLWithPath: "/usr/bin/env"), ["sha256sum", url.path]).stdout.prefix(64))
  let manifestURL = URL(fileURLWithPath: fixture.path("bundle/manifest.json"))
  var manifest = try TextFixture.json(manifestURL.path)
  manifest["files"] = (manifest["files"] as? [[String: Any]] ?? []).map { entry in
    guard entry["path"] as? String == "texts.json" else { return entry }
    return entry.merging(["sha256": digest, "bytes": edited.count]) { $1 }
  }
  try JSONSerialization.data(withJSONObject: manifest).write(to: manifestURL)

  for command in [["report", fixture.path("bundle")], ["explain", fixture.path("bundle"), "--test-index", "0"]] {
    let result = try runEntk(command)
    #expect(result.status == 3)
    #expect(
      result.stderr.contains("texts.json: train is 1 texts: expected one per train point, 48"), "\(result.stderr)")
  }
  let validation = try fixture.validate()
  #expect(validation.status == 1)
  #expect(validation.stderr.contains("texts.json: 1 train texts for 48 train points"), "\(validation.stderr)")
}
