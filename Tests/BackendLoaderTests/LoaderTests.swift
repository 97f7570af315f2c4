import EntkTestSupport
import Foundation
import Testing

@testable import BackendLoader

/// Builds the linear test backend with `defect` (a BREAK_* macro, or nil for a correct one).
private func linearBackend(_ defect: String?, in directory: URL) throws -> URL {
  try compileCBackend(
    source: "backends/linear_backend.c", libraryName: "libentk-backend-linear.so", into: directory,
    defines: defect.map { [$0] } ?? [])
}

private func loadError(_ url: URL) -> BackendLoadError? {
  do {
    _ = try BackendLibrary(url: url)
    return nil
  } catch let error as BackendLoadError {
    return error
  } catch {
    return nil
  }
}

@Test func exampleCLoadsByNameFromTheExecutableDirectory() throws {
  let library = try BackendLibrary.load("example-c")
  #expect(library.name == "example-c")
  #expect(library.abiVersion.major == 1)
  #expect(library.url.deletingLastPathComponent().path == TestEnvironment.productsDirectory.path)
  #expect(library.capabilities == ["get_params", "set_params"])
}

@Test func backendPathEnvironmentComesFirst() throws {
  let directory = try TestEnvironment.temporaryDirectory()
  let built = try linearBackend(nil, in: directory)
  let locator = BackendLocator.standard(environment: ["ENTK_BACKEND_PATH": "/nonexistent:\(directory.path)"])
  #expect(locator.searchDirectories.first?.path == "/nonexistent")
  #expect(try locator.locate("linear").path == built.path)
  #expect(locator.discover().map(\.lastPathComponent).contains("libentk-backend-linear.so"))
}

@Test func unknownBackendNameListsWhereItLooked() {
  let locator = BackendLocator(searchDirectories: [URL(fileURLWithPath: "/a"), URL(fileURLWithPath: "/b")])
  #expect(throws: BackendLoadError.notFound(name: "nope", searched: ["/a", "/b"])) { try locator.locate("nope") }
}

@Test func missingFileIsReported() {
  #expect(throws: BackendLoadError.fileMissing(path: "/nonexistent/libentk-backend-x.so")) {
    try BackendLibrary(url: URL(fileURLWithPath: "/nonexistent/libentk-backend-x.so"))
  }
}

@Test func aFileThatIsNotASharedObjectCarriesTheDlerrorText() throws {
  let url = try TestEnvironment.temporaryDirectory().appendingPathComponent("libentk-backend-junk.so")
  try Data("not an ELF file".utf8).write(to: url)
  guard case .notSharedObject(let path, let text)? = loadError(url) else {
    Issue.record("expected notSharedObject")
    return
  }
  #expect(path == url.path)
  #expect(text.contains("libentk-backend-junk.so"))
}

@Test func eachBrokenBackendGetsItsOwnError() throws {
  let directory = try TestEnvironment.temporaryDirectory()
  let cases: [(String, (BackendLoadError) -> Bool)] = [
    ("BREAK_ENTRY_NAME", { if case .entrySymbolMissing(_, "entk_backend_v1") = $0 { true } else { false } }),
    ("BREAK_ABI_MAJOR", { if case .abiTooNew(_, 99, 1) = $0 { true } else { false } }),
    ("BREAK_ENTRY_NULL", { if case .entryReturnedNull = $0 { true } else { false } }),
    (
      "BREAK_STRUCT_SIZE",
      { if case .structTooSmall(_, 16, BackendLibrary.minimumTableSize) = $0 { true } else { false } }
    ),
    ("BREAK_NULL_FORWARD", { if case .requiredCallMissing(_, "forward") = $0 { true } else { false } }),
  ]
  for (defect, matches) in cases {
    let subdirectory = directory.appendingPathComponent(defect)
    try FileManager.default.createDirectory(at: subdirectory, withIntermediateDirectories: true)
    let url = try linearBackend(defect, in: subdirectory)
    let error = loadError(url)
    #expect(error.map(matches) == true, "\(defect): \(String(describing: error))")
  }
}

@Test func abiTooNewMessageSaysWhatToDo() {
  let message = BackendLoadError.abiTooNew(path: "/x.so", backendMajor: 99, supportedMajor: 1).description
  #expect(message.contains("ABI 99"))
  #expect(message.contains("supports ABI 1"))
}

@Test func callErrorsCarryTheBackendsMessageAndStatus() throws {
  let library = try BackendLibrary.load("example-c")
  #expect {
    _ = try library.open(model: "/nonexistent/model")
  } throws: { error in
    guard case BackendCallError.failed("example-c", "open", .notFound, let message) = error else { return false }
    return message.contains("/nonexistent/model")
  }
}

@Test func exampleCDescribesItsFixture() throws {
  let model = try BackendLibrary.load("example-c").open(model: TestEnvironment.fixture("example-c-mlp").path)
  let d = model.description
  #expect(d.inputShape == [5])
  #expect(d.numOutputs == 3)
  #expect(d.numParams == 7 * 5 + 7 + 6 * 7 + 6 + 3 * 6 + 3)
  #expect(d.embeddingSize == 6)
  #expect(d.parameterGroups.map(\.name) == ["layer1", "layer2", "layer3"])
  #expect(d.violation() == nil)
}

@Test func buffersThatDoNotMatchTheDescriptionAreRejectedBeforeTheCall() throws {
  let model = try BackendLibrary.load("example-c").open(model: TestEnvironment.fixture("example-c-mlp").path)
  #expect(throws: BackendCallError.self) { try model.forward([1, 2, 3], count: 1) }
  #expect(throws: BackendCallError.self) { try model.forward([], count: 0) }
}

@Test func descriptionRulesCatchGapsOverlapsAndDuplicates() {
  func description(_ groups: [ParameterGroup], params: Int = 10) -> ModelDescription {
    ModelDescription(inputShape: [2], numOutputs: 1, numParams: params, embeddingSize: 0, parameterGroups: groups)
  }
  #expect(description([.init(name: "a", offset: 0, count: 10)]).violation() == nil)
  #expect(
    description([.init(name: "a", offset: 0, count: 4), .init(name: "b", offset: 5, count: 5)]).violation()?.contains(
      "starts at 5") == true)
  #expect(
    description([.init(name: "a", offset: 0, count: 5), .init(name: "a", offset: 5, count: 5)]).violation()?.contains(
      "used twice") == true)
  #expect(description([.init(name: "a", offset: 0, count: 5)]).violation()?.contains("cover 5") == true)
}

@Test func factorLayoutPlacesEachGroupAndAnOlderTableHasNone() throws {
  let directory = try TestEnvironment.temporaryDirectory()
  let current = try BackendLibrary(url: linearBackend(nil, in: directory))
  #expect(current.capabilities.contains("factored_jacobian"))
  let model = try current.open(model: current.url.path)
  let layout = try #require(model.factorLayout)
  // W: x (3) then Δ (2 classes × 2); b: [1] then Δ (2 × 2).
  #expect(layout.plainCount == 0)
  #expect(layout.segments == [.factored(input: 0..<3, deltas: 3..<7), .factored(input: 7..<8, deltas: 8..<12)])
  #expect(layout.rowLength == 12)
  let x: [Float] = [0.5, -1, 2]
  let row = try model.factoredJacobian(x, count: 1)
  #expect(Array(row[0..<3]) == x)
  #expect(Array(row[3..<7]) == [1, 0, 0, 1])

  let older = directory.appendingPathComponent("older")
  try FileManager.default.createDirectory(at: older, withIntermediateDirectories: true)
  let library = try BackendLibrary(url: linearBackend("ABI_1_0", in: older))
  #expect(library.abiVersion.minor == 0)
  let olderModel = try library.open(model: library.url.path)
  #expect(olderModel.factorLayout == nil)
  #expect(throws: BackendCallError.self) { _ = try olderModel.factoredJacobian(x, count: 1) }
}

@Test func inconsistentFactorsAreRefusedAtOpenWithTheReason() throws {
  let directory = try TestEnvironment.temporaryDirectory()
  let cases = [
    ("BREAK_FACTOR_DIMS", "input_dim 4 × output_dim 2, but the group has 6 parameters"),
    ("BREAK_FACTOR_HALF", "group_factor and factored_jacobian must both be set or both be NULL"),
  ]
  for (defect, reason) in cases {
    let subdirectory = directory.appendingPathComponent(defect)
    try FileManager.default.createDirectory(at: subdirectory, withIntermediateDirectories: true)
    let library = try BackendLibrary(url: linearBackend(defect, in: subdirectory))
    #expect(Comment(rawValue: defect)) {
      _ = try library.open(model: library.url.path)
    } throws: { error in
      guard case BackendCallError.invalidDescription("linear", let message) = error else { return false }
      return message.contains(reason)
    }
  }
}
