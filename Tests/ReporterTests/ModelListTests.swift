import Testing

@testable import Reporter

private func model(_ path: String, _ backend: String? = "swiftnet") -> Manifest.ModelRecord {
  Manifest.ModelRecord(backend: backend, backendPath: nil, path: path, sha256: nil)
}

/// The header names every model of an ensemble, the shared folder and backend once; past eight
/// models it names the first and last three and counts the rest.
@Test func modelListNamesEveryModelCompactly() {
  #expect(ModelList(models: [model("/m/a")]).text == "model /m/a (backend swiftnet)")
  #expect(
    ModelList(models: [model("/m/a"), model("/m/b")]).text == "ensemble of 2 models in /m/: a, b (backend swiftnet)")
  #expect(
    ModelList(models: [model("/m/a"), model("/n/b", "onnx")]).text
      == "ensemble of 2 models: /m/a (backend swiftnet), /n/b (backend onnx)")
  let many = (0..<12).map { model("/runs/model-\($0)") }
  #expect(
    ModelList(models: many).text
      == "ensemble of 12 models in /runs/: model-0, model-1, model-2, … 6 more …, model-9, model-10, model-11 (backend swiftnet)"
  )
  #expect(ModelList(models: Array(many.prefix(8))).text.contains("model-3, model-4"))
}
