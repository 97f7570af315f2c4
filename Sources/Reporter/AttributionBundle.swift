import ArrayIO
import Foundation

/// Everything an attribution bundle holds, in memory.
///
/// What `entk attribute` writes and what `entk report` and `entk explain` read back. File names and layouts: `BundleFormat`.
public struct AttributionBundle: Sendable {
  /// The manifest; its `files` list is filled in by `write`.
  public var manifest: Manifest
  public var metrics: MetricsFile
  public var attributions: AttributionsFile
  /// float32 [N, N] or [L, N, N].
  public var trainKernel: NPYArray
  /// float32 [M, N] or [L, M, N].
  public var testKernel: NPYArray
  /// float64 [C, L·N].
  public var surrogateWeights: NPYArray
  /// float64 [C].
  public var surrogateBias: NPYArray
  /// float32 [M, C].
  public var networkTestLogits: NPYArray
  /// float64 [M, C].
  public var surrogateTestLogits: NPYArray
  /// int64 [N]: ground-truth training labels.
  public var trainLabels: NPYArray
  /// int64 [N]: the targets the surrogate was fitted to, when they differ from `trainLabels`.
  public var fitTargets: NPYArray?
  /// int64 [M].
  public var testLabels: NPYArray?
  /// float32 [N, …].
  public var trainInputs: NPYArray?
  /// float32 [M, …].
  public var testInputs: NPYArray?
  /// The samples' texts, when given.
  public var texts: SampleTexts?
  /// Baseline methods' scores, float32 [M, N], by file name (`BundleFormat.baselineScores`); each
  /// one listed in `manifest.baselines`.
  public var baselineScores: [String: NPYArray] = [:]

  public init(
    manifest: Manifest, metrics: MetricsFile, attributions: AttributionsFile, trainKernel: NPYArray,
    testKernel: NPYArray,
    surrogateWeights: NPYArray, surrogateBias: NPYArray, networkTestLogits: NPYArray, surrogateTestLogits: NPYArray,
    trainLabels: NPYArray, fitTargets: NPYArray?, testLabels: NPYArray?, trainInputs: NPYArray?, testInputs: NPYArray?,
    texts: SampleTexts? = nil
  ) {
    self.manifest = manifest
    self.metrics = metrics
    self.attributions = attributions
    self.trainKernel = trainKernel
    self.testKernel = testKernel
    self.surrogateWeights = surrogateWeights
    self.surrogateBias = surrogateBias
    self.networkTestLogits = networkTestLogits
    self.surrogateTestLogits = surrogateTestLogits
    self.trainLabels = trainLabels
    self.fitTargets = fitTargets
    self.testLabels = testLabels
    self.trainInputs = trainInputs
    self.testInputs = testInputs
    self.texts = texts
  }

  /// The arrays stored as .npy files, by file name (optional ones only when present).
  var arrays: [(String, NPYArray)] {
    var list: [(String, NPYArray)] = [
      (BundleFormat.trainKernel, trainKernel), (BundleFormat.testKernel, testKernel),
      (BundleFormat.surrogateWeights, surrogateWeights), (BundleFormat.surrogateBias, surrogateBias),
      (BundleFormat.networkTestLogits, networkTestLogits), (BundleFormat.surrogateTestLogits, surrogateTestLogits),
      (BundleFormat.trainLabels, trainLabels),
    ]
    let optional: [(String, NPYArray?)] = [
      (BundleFormat.fitTargets, fitTargets), (BundleFormat.testLabels, testLabels),
      (BundleFormat.trainInputs, trainInputs), (BundleFormat.testInputs, testInputs),
    ]
    for (name, array) in optional { if let array { list.append((name, array)) } }
    list += baselineScores.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
    return list
  }

  /// Writes the bundle atomically at `url` (see `BundleWriter`): arrays, JSON, CSV, the HTML
  /// report, and last the manifest with every file's checksum.
  /// - Parameters:
  ///   - replaceExisting: replace a bundle already at `url` (otherwise that is an error).
  ///   - progress: called with a short message before each file.
  public func write(to url: URL, replaceExisting: Bool, progress: (String) -> Void = { _ in }) throws {
    let writer = try BundleWriter(finalURL: url, replaceExisting: replaceExisting)
    for (name, array) in arrays {
      progress("writing \(name)")
      var data = NPYHeader(dtype: array.dtype, shape: array.shape).encoded()
      data.append(array.bytes)
      try writer.add(name, data: data)
    }
    progress("writing \(BundleFormat.metrics), \(BundleFormat.attributions), \(BundleFormat.attributionsCSV)")
    try writer.add(BundleFormat.metrics, data: Self.json(metrics))
    try writer.add(BundleFormat.attributions, data: Self.json(attributions, pretty: false))
    try writer.add(BundleFormat.attributionsCSV, data: Data(attributions.csv().utf8))
    if let texts { try writer.add(BundleFormat.texts, data: Self.json(texts, pretty: false)) }
    progress("writing \(BundleFormat.report)")
    try writer.add(BundleFormat.report, data: Data(ReportPage(bundle: self).html().utf8))
    var finished = manifest
    finished.files = writer.files
    try writer.add(BundleFormat.manifest, data: Self.json(finished))
    try writer.commit()
  }

  /// Reads a bundle written by `write`, verified: every file read has the SHA-256 the manifest
  /// records, and the files agree with each other (see `checkConsistency`).
  public static func read(from url: URL) throws -> AttributionBundle {
    let manifest = try readManifest(at: url)
    let optional = [
      BundleFormat.fitTargets, BundleFormat.testLabels, BundleFormat.trainInputs, BundleFormat.testInputs,
      BundleFormat.texts,
    ]
    let present = optional.filter { FileManager.default.fileExists(atPath: url.appendingPathComponent($0).path) }
    let baselineFiles = try (manifest.baselines ?? []).map { record in
      guard record.file == BundleFormat.baselineScores(method: record.method) else {
        throw ReporterError.invalidField(
          path: url.appendingPathComponent(BundleFormat.manifest).path, field: "baselines", value: record.file,
          reason: "expected \(BundleFormat.baselineScores(method: record.method))")
      }
      return record.file
    }
    let required = [
      BundleFormat.metrics, BundleFormat.attributions, BundleFormat.trainKernel, BundleFormat.testKernel,
      BundleFormat.surrogateWeights, BundleFormat.surrogateBias, BundleFormat.networkTestLogits,
      BundleFormat.surrogateTestLogits, BundleFormat.trainLabels,
    ]
    try verifyChecksums(of: required + present + baselineFiles, at: url, manifest: manifest)
    func array(_ name: String) throws -> NPYArray { try NPYFile.read(url.appendingPathComponent(name)) }
    func optionalArray(_ name: String) throws -> NPYArray? {
      present.contains(name) ? try array(name) : nil
    }
    var bundle = AttributionBundle(
      manifest: manifest, metrics: try readJSON(MetricsFile.self, url.appendingPathComponent(BundleFormat.metrics)),
      attributions: try readJSON(AttributionsFile.self, url.appendingPathComponent(BundleFormat.attributions)),
      trainKernel: try array(BundleFormat.trainKernel), testKernel: try array(BundleFormat.testKernel),
      surrogateWeights: try array(BundleFormat.surrogateWeights), surrogateBias: try array(BundleFormat.surrogateBias),
      networkTestLogits: try array(BundleFormat.networkTestLogits),
      surrogateTestLogits: try array(BundleFormat.surrogateTestLogits),
      trainLabels: try array(BundleFormat.trainLabels), fitTargets: try optionalArray(BundleFormat.fitTargets),
      testLabels: try optionalArray(BundleFormat.testLabels), trainInputs: try optionalArray(BundleFormat.trainInputs),
      testInputs: try optionalArray(BundleFormat.testInputs),
      texts: present.contains(BundleFormat.texts)
        ? try readJSON(SampleTexts.self, url.appendingPathComponent(BundleFormat.texts)) : nil)
    for file in baselineFiles { bundle.baselineScores[file] = try array(file) }
    try bundle.checkConsistency(at: url)
    return bundle
  }

  /// Reads only `attributions.json` of the bundle at `url` (what `entk explain` needs), verified
  /// against the manifest's SHA-256 and its own counts.
  public static func readAttributions(from url: URL) throws -> AttributionsFile {
    try verifyChecksums(of: [BundleFormat.attributions], at: url, manifest: readManifest(at: url))
    let file = url.appendingPathComponent(BundleFormat.attributions)
    let attributions = try readJSON(AttributionsFile.self, file)
    try attributions.check(path: file.path)
    return attributions
  }

  /// Reads only `texts.json` of the bundle at `url`, nil when the bundle has none; verified
  /// against the manifest's SHA-256 and against `attributions`' counts.
  public static func readTexts(from url: URL, attributions: AttributionsFile) throws -> SampleTexts? {
    let file = url.appendingPathComponent(BundleFormat.texts)
    guard FileManager.default.fileExists(atPath: file.path) else { return nil }
    try verifyChecksums(of: [BundleFormat.texts], at: url, manifest: readManifest(at: url))
    let texts = try readJSON(SampleTexts.self, file)
    try texts.check(trainCount: attributions.trainCount, testCount: attributions.testCount, path: file.path)
    return texts
  }

  /// `manifest.json` of the bundle at `url`, of a format this entk reads.
  private static func readManifest(at url: URL) throws -> Manifest {
    let manifest = try readJSON(Manifest.self, url.appendingPathComponent(BundleFormat.manifest))
    guard manifest.format == BundleFormat.name else {
      throw ReporterError.malformedBundle(
        path: url.appendingPathComponent(BundleFormat.manifest).path, reason: "format is \"\(manifest.format)\"")
    }
    guard manifest.formatVersion <= BundleFormat.version else {
      throw ReporterError.unsupportedFormat(path: url.path, version: manifest.formatVersion)
    }
    return manifest
  }

  /// Re-renders `report.html` of the bundle at `url` from its files and updates the report's
  /// checksum in the manifest; each of the two files is replaced atomically.
  public static func rerenderReport(at url: URL) throws {
    var bundle = try read(from: url)
    let html = Data(ReportPage(bundle: bundle).html().utf8)
    let reportURL = url.appendingPathComponent(BundleFormat.report)
    try writeAtomically(html, to: reportURL)
    let entry = BundleFileEntry(path: BundleFormat.report, sha256: SHA256.hex(html), bytes: html.count)
    bundle.manifest.files.removeAll { $0.path == BundleFormat.report }
    bundle.manifest.files.append(entry)
    try writeAtomically(json(bundle.manifest), to: url.appendingPathComponent(BundleFormat.manifest))
  }

  /// Key-sorted JSON, as every bundle JSON file is written; pretty-printed unless the file is
  /// large (attributions.json).
  static func json<T: Encodable>(_ value: T, pretty: Bool = true) throws -> Data {
    let encoder = JSONEncoder()
    encoder.outputFormatting =
      pretty ? [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
    var data = try encoder.encode(value)
    data.append(contentsOf: Array("\n".utf8))
    return data
  }

  private static func readJSON<T: Decodable>(_ type: T.Type, _ url: URL) throws -> T {
    let data: Data
    do {
      data = try Data(contentsOf: url)
    } catch {
      throw ReporterError.cannotRead(
        path: url.path,
        reason: FileManager.default.fileExists(atPath: url.path)
          ? FileSystemReason.of(error, path: url.path) : "no such file")
    }
    do {
      return try JSONDecoder().decode(type, from: data)
    } catch {
      throw ReporterError.malformedBundle(path: url.path, reason: JSONFailure.reason(error))
    }
  }

  private static func writeAtomically(_ data: Data, to url: URL) throws {
    do {
      try data.write(to: url, options: .atomic)
    } catch {
      throw ReporterError.cannotWrite(path: url.path, reason: FileSystemReason.of(error))
    }
  }
}
