import ArrayIO
import BackendLoader
import EntkTestSupport
import Foundation
import Testing

@testable import Kernels

/// Reading samples for typed, named model inputs (`SampleSet.read`): what converts, what is refused.
@Suite struct SampleSetTests {
  let directory: URL
  let ids = ModelInput(name: "input_ids", elementType: .int64, shape: [4])
  let mask = ModelInput(name: "attention_mask", elementType: .int64, shape: [4])

  init() throws { directory = try TestEnvironment.temporaryDirectory() }

  func write(_ array: NPYArray, _ name: String) throws -> URL {
    let url = directory.appendingPathComponent(name)
    try NPYFile.write(array, to: url)
    return url
  }

  func failure(_ source: DataSource, _ inputs: [ModelInput]) -> String {
    do {
      _ = try SampleSet.read(source, inputs: inputs)
      return "no error"
    } catch {
      return "\(error)"
    }
  }

  @Test func npzAndNamedFilesGiveTheSameSamplesAndChecksum() throws {
    let fromArchive = try SampleSet.read(.file(TokenBackend.data("train.npz")), inputs: [ids, mask])
    let named = try SampleSet.read(
      DataSource(arguments: [
        "attention_mask=\(TokenBackend.data("train_mask.npy").path)",
        "input_ids=\(TokenBackend.data("train_ids.npy").path)",
      ]), inputs: [ids, mask])
    #expect(fromArchive.count == 7 && named.count == 7)
    #expect(fromArchive.checksum == named.checksum)
    // Buffers follow the model's input order, whatever order the files came in.
    let expected = try NPYFile.read(TokenBackend.data("train_ids.npy")).int64Values()
    let first = named.batch.buffers[0].assumingMemoryBound(to: Int64.self)
    #expect((0..<28).map { first[$0] } == expected)
  }

  @Test func integerWideningAndBoolZeroOneAreAccepted() throws {
    let int32 = try write(
      NPYArray(shape: [2, 4], dtype: .int32, bytes: (0..<8).map { Int32($0) }.withUnsafeBytes { Data($0) }), "i4.npy")
    let set = try SampleSet.read(.file(int32), inputs: [ids])
    #expect((0..<8).map { set.batch.buffers[0].assumingMemoryBound(to: Int64.self)[$0] } == (0..<8).map(Int64.init))
    let flags = ModelInput(name: "flags", elementType: .bool, shape: [4])
    let ones = try write(NPYArray(int64: [1, 0, 1, 1], shape: [1, 4]), "flags.npy")
    #expect(try SampleSet.read(.file(ones), inputs: [flags]).count == 1)
    let two = try write(NPYArray(int64: [1, 0, 2, 1], shape: [1, 4]), "two.npy")
    #expect(
      failure(.file(two), [flags]).contains("element 2 is 2, which the model input 'flags' (bool [4]) cannot take"))
  }

  @Test func integerDataNeverFeedsAFloatInputNorFloatsAnIntegerOne() throws {
    let x = ModelInput(name: "x", elementType: .float32, shape: [4])
    let integers = try write(NPYArray(int64: [1, 2, 3, 4], shape: [1, 4]), "ints.npy")
    #expect(
      failure(.file(integers), [x]).contains("holds int64 values, the model input 'x' (float32 [4]) takes float32"))
    let floats = try write(NPYArray(float32: [1, 2, 3, 4], shape: [1, 4]), "floats.npy")
    #expect(failure(.file(floats), [ids]).contains("holds float32 values, the model input 'input_ids' (int64 [4])"))
    let narrow = ModelInput(name: "narrow", elementType: .int32, shape: [1])
    let big = try write(NPYArray(int64: [1 << 40], shape: [1, 1]), "big.npy")
    #expect(failure(.file(big), [narrow]).contains("element 0 is 1099511627776"))
  }

  @Test func missingUnknownAndMismatchedInputsAreNamed() throws {
    let idsFile = TokenBackend.data("train_ids.npy").path
    #expect(
      failure(.file(TokenBackend.data("train_ids.npy")), [ids, mask]).contains(
        "give a .npz with arrays named input_ids, attention_mask"))
    #expect(
      failure(try DataSource(arguments: ["input_ids=\(idsFile)"]), [ids, mask]).contains(
        "no array for the model input 'attention_mask'"))
    #expect(
      failure(try DataSource(arguments: ["input_ids=\(idsFile)", "typo=\(idsFile)"]), [ids, mask]).contains(
        "'typo' is not an input of the model"))
    let short = try write(NPYArray(int64: [Int64](repeating: 1, count: 8), shape: [2, 4]), "short.npy")
    #expect(
      failure(try DataSource(arguments: ["input_ids=\(idsFile)", "attention_mask=\(short.path)"]), [ids, mask])
        .contains("has 7 samples but \(short.path) has 2"))
    let wide = ModelInput(name: "input_ids", elementType: .int64, shape: [5])
    #expect(
      failure(.file(TokenBackend.data("train.npz")), [wide]).contains(
        "does not hold samples of the model's input shape [5]"))
    // An archive may hold arrays the model does not take.
    #expect(failure(.file(TokenBackend.data("train.npz")), [ids]) == "no error")
  }

  @Test func malformedSourcesAreRefused() {
    #expect(throws: SampleDataError.self) { try DataSource(arguments: []) }
    #expect(throws: SampleDataError.self) { try DataSource(arguments: ["a.npy", "b.npy"]) }
    #expect(throws: SampleDataError.self) { try DataSource(arguments: ["a=x.npy", "a=y.npy"]) }
    #expect(throws: SampleDataError.self) { try DataSource(arguments: ["=x.npy"]) }
  }

  @Test func oneFloatInputKeepsItsOldChecksum() throws {
    let x = ModelInput(name: "input", elementType: .float32, shape: [2])
    let values: [Float] = [1, 2.5, -3, 4]
    let set = try SampleSet(name: "x", values: values, input: x)
    var checksum = TileChecksum()
    values.withUnsafeBytes { checksum.update($0) }
    #expect(set.checksum == checksum.text)
  }
}
