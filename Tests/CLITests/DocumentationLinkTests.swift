import EntkTestSupport
import Foundation
import Testing

/// README.md, CONTRIBUTING.md and docs/*.md link only to files inside the repository, and to
/// headings that exist: someone who clones entk can follow every link.
struct DocumentationLinkTests {
  static let root = TestEnvironment.repositoryRoot.standardizedFileURL

  static var documents: [URL] {
    let docs = root.appendingPathComponent("docs")
    let pages = (try? FileManager.default.contentsOfDirectory(at: docs, includingPropertiesForKeys: nil)) ?? []
    return [root.appendingPathComponent("README.md"), root.appendingPathComponent("CONTRIBUTING.md")]
      + pages.filter { $0.pathExtension == "md" }.sorted { $0.path < $1.path }
  }

  /// Targets of inline Markdown links `[text](target)`, outside code blocks.
  static func links(in text: String) -> [String] {
    var targets: [String] = []
    var inCode = false
    for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
      if line.hasPrefix("```") { inCode.toggle() }
      if inCode { continue }
      var rest = Substring(line)
      while let open = rest.range(of: "](") {
        let after = rest[open.upperBound...]
        guard let close = after.firstIndex(of: ")") else { break }
        targets.append(String(after[..<close]))
        rest = after[after.index(after: close)...]
      }
    }
    return targets
  }

  /// GitHub's anchor of a heading: lower case, punctuation but `-` and `_` dropped, spaces as `-`.
  static func anchors(in text: String) -> Set<String> {
    var result = Set<String>()
    for line in text.split(separator: "\n") where line.hasPrefix("#") {
      let title = line.drop { $0 == "#" }.trimmingCharacters(in: .whitespaces).lowercased()
      let kept = title.filter { $0.isLetter || $0.isNumber || $0 == " " || $0 == "-" || $0 == "_" }
      result.insert(kept.replacingOccurrences(of: " ", with: "-"))
    }
    return result
  }

  @Test func everyRelativeLinkResolvesInsideTheRepository() throws {
    #expect(Self.documents.count >= 5)
    for document in Self.documents {
      let text = try String(contentsOf: document, encoding: .utf8)
      for link in Self.links(in: text) where !link.hasPrefix("http://") && !link.hasPrefix("https://") {
        let parts = link.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false)
        let path = String(parts[0])
        let target =
          path.isEmpty
          ? document : document.deletingLastPathComponent().appendingPathComponent(path).standardizedFileURL
        let place = "\(document.lastPathComponent): (\(link))"
        #expect(target.path.hasPrefix(Self.root.path + "/"), "\(place) leaves the repository")
        #expect(FileManager.default.fileExists(atPath: target.path), "\(place) does not exist")
        if parts.count == 2, target.pathExtension == "md", FileManager.default.fileExists(atPath: target.path) {
          let anchors = Self.anchors(in: try String(contentsOf: target, encoding: .utf8))
          #expect(anchors.contains(String(parts[1])), "\(place): no heading with anchor #\(parts[1])")
        }
      }
    }
  }

  @Test func theLinkReaderFindsLinksAndAnchorsAsGitHubDoes() {
    #expect(Self.links(in: "a [x](docs/a.md) b [`y`](../b.md#c)\n```\n[z](no.md)\n```") == ["docs/a.md", "../b.md#c"])
    #expect(
      Self.anchors(in: "## The struct_size rule\n### Per-layer factors (ABI 1.1 and 1.2)")
        == ["the-struct_size-rule", "per-layer-factors-abi-11-and-12"])
  }
}
