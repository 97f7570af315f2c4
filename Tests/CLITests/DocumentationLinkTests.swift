import EntkTestSupport
import Foundation
import Testing

/// Every Markdown file of the repository (README.md, CONTRIBUTING.md, docs/, the examples' and
/// tools' READMEs) links only to files inside the repository, and to headings that exist: someone
/// who clones entk can follow every link.
struct DocumentationLinkTests {
  static let root = TestEnvironment.repositoryRoot.standardizedFileURL

  /// The `.md` files under the root, hidden folders (`.build`, `.git`) skipped.
  static var documents: [URL] {
    let files = FileManager.default.enumerator(
      at: root, includingPropertiesForKeys: nil, options: [.skipsHiddenFiles])
    return (files?.compactMap { $0 as? URL } ?? []).filter { $0.pathExtension == "md" }
      .map(\.standardizedFileURL).sorted { $0.path < $1.path }
  }

  /// "docs/abi.md": a document's path from the root, for messages.
  static func name(_ document: URL) -> String { String(document.path.dropFirst(root.path.count + 1)) }

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
    let names = Set(Self.documents.map(Self.name))
    #expect(names.isSuperset(of: ["README.md", "CONTRIBUTING.md", "docs/method.md", "docs/abi.md", "docs/bundle.md"]))
    for document in Self.documents {
      let text = try String(contentsOf: document, encoding: .utf8)
      for link in Self.links(in: text) where !link.hasPrefix("http://") && !link.hasPrefix("https://") {
        let parts = link.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false)
        let path = String(parts[0])
        let target =
          path.isEmpty
          ? document : document.deletingLastPathComponent().appendingPathComponent(path).standardizedFileURL
        let place = "\(Self.name(document)): (\(link))"
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
