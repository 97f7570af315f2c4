import ArgumentParser
import Foundation
import Reporter

struct ReportCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "report",
    abstract: "Re-render a bundle's report.html from the bundle's own files.",
    discussion:
      "Reads manifest.json, metrics.json, attributions.json and the bundle's arrays; rewrites report.html and its checksum in manifest.json."
  )

  @Argument(help: "Bundle folder written by `entk attribute`.") var bundle: String

  func run() throws {
    let url = URL(fileURLWithPath: bundle).standardizedFileURL
    try AttributionBundle.rerenderReport(at: url)
    print(url.appendingPathComponent(BundleFormat.report).path)
  }
}
