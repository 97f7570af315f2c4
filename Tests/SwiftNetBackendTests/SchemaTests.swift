import EntkTestSupport
import Foundation
import Testing

/// Architecture files, the examples' and the ones `save` writes, against
/// schemas/swiftnet-model.schema.json (validated by Python's jsonschema, which tools/setup.sh
/// installs).
@Suite struct SchemaTests {
  private func validate(_ files: [String]) throws -> CommandResult {
    let script = """
      import json, sys, jsonschema
      schema = json.load(open(sys.argv[1]))
      jsonschema.Draft202012Validator.check_schema(schema)
      validator = jsonschema.Draft202012Validator(schema)
      failed = 0
      for path in sys.argv[2:]:
          for error in validator.iter_errors(json.load(open(path))):
              failed += 1
              print(f"{path}: {error.json_path}: {error.message}")
      sys.exit(1 if failed else 0)
      """
    let schema = TestEnvironment.repositoryRoot.appendingPathComponent("schemas/swiftnet-model.schema.json").path
    return try runCommand(URL(fileURLWithPath: "/usr/bin/env"), ["python3", "-c", script, schema] + files)
  }

  @Test func examplesFixturesAndSavedModelsMatchTheSchema() throws {
    let root = TestEnvironment.repositoryRoot
    var files = ["examples/digits/mlp.json", "examples/digits/cnn.json"].map { root.appendingPathComponent($0).path }
    for fixture in ReferenceTests.fixtures {
      files.append(TestEnvironment.fixture("\(fixture)/model.json").path)
      let saved = try TestEnvironment.temporaryDirectory(fixture).appendingPathComponent("saved")
      try SwiftNetTestModels.library().open(model: TestEnvironment.fixture(fixture).path).save(to: saved.path)
      files.append(saved.appendingPathComponent("model.json").path)
    }
    let result = try validate(files)
    #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
  }

  @Test func schemaRejectsAnUnknownLayerType() throws {
    let path = try SwiftNetTestModels.architecture(
      inputShape: [4], layers: #"[{"type": "swish"}, {"type": "dense", "out_features": 2}]"#)
    let result = try validate([path])
    #expect(result.status == 1)
  }
}
