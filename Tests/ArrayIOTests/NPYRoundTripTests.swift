import EntkTestSupport
import Foundation
import Testing

@testable import ArrayIO

/// The formula `tools/fixtures/make_npy_fixtures.py` fills every valid fixture with.
private func fixtureValue(_ index: Int, unsigned: Bool = false) -> Double {
  unsigned ? Double(index * 7 % 23) : Double(index * 7 % 23 - 11)
}

private func npyFixture(_ name: String) -> URL { TestEnvironment.fixture("npy/\(name)") }

@Test(arguments: [
  ("f4_3x4_v1.npy", NPYDType.float32), ("f8_3x4_v1.npy", .float64), ("i4_3x4_v1.npy", .int32),
  ("i8_3x4_v1.npy", .int64), ("u1_3x4_v1.npy", .uint8),
])
func numpyWrittenFilesLoadWithTheirValues(name: String, dtype: NPYDType) throws {
  let array = try NPYFile.read(npyFixture(name))
  #expect(array.dtype == dtype)
  #expect(array.shape == [3, 4])
  #expect(array.float64Values() == (0..<12).map { fixtureValue($0, unsigned: dtype == .uint8) })
}

@Test func formatVersions2And3AndScalarsLoad() throws {
  let v2 = try NPYFile.read(npyFixture("f4_2x3x2_v2.npy"))
  #expect(v2.shape == [2, 3, 2])
  #expect(v2.float32Values() == (0..<12).map { Float(fixtureValue($0)) })
  let v3 = try NPYFile.read(npyFixture("f4_5_v3.npy"))
  #expect(v3.shape == [5])
  #expect(v3.float32Values() == (0..<5).map { Float(fixtureValue($0)) })
  let scalar = try NPYFile.read(npyFixture("f8_scalar_v1.npy"))
  #expect(scalar.shape == [])
  #expect(scalar.float64Values() == [fixtureValue(0)])
}

@Test func filesWrittenByEntkLoadInNumpyWithIdenticalValues() throws {
  let directory = try TestEnvironment.temporaryDirectory()
  defer { try? FileManager.default.removeItem(at: directory) }
  let floats: [Float] = [0, -1.5, 3.14159265, 1e-38, 3.4e38, -0.0]
  try NPYFile.write(NPYArray(float32: floats, shape: [2, 3]), to: directory.appendingPathComponent("a.npy"))
  try NPYFile.write(NPYArray(float64: [1.0 / 3.0, -2e300], shape: [2]), to: directory.appendingPathComponent("b.npy"))
  try NPYFile.write(
    NPYArray(int64: [Int64.min, 0, Int64.max], shape: [3, 1]), to: directory.appendingPathComponent("c.npy"))
  let script = """
    import numpy as np, sys
    d = sys.argv[1]
    a = np.load(d + '/a.npy'); b = np.load(d + '/b.npy'); c = np.load(d + '/c.npy')
    assert a.dtype == np.float32 and a.shape == (2, 3), (a.dtype, a.shape)
    assert (a.view(np.uint32) == np.array([0, -1.5, 3.14159265, 1e-38, 3.4e38, -0.0], dtype=np.float32).view(np.uint32).reshape(2, 3)).all()
    assert b.dtype == np.float64 and b.tolist() == [1.0 / 3.0, -2e300]
    assert c.dtype == np.int64 and c.shape == (3, 1) and c.ravel().tolist() == [-2**63, 0, 2**63 - 1]
    print('ok')
    """
  let result = try runCommand(URL(fileURLWithPath: "/usr/bin/env"), ["python3", "-c", script, directory.path])
  #expect(result.status == 0, "\(result.stderr)")
  #expect(result.stdout.contains("ok"))
}

@Test func writeThenReadRoundTripsEveryDtype() throws {
  let directory = try TestEnvironment.temporaryDirectory()
  defer { try? FileManager.default.removeItem(at: directory) }
  for dtype in NPYDType.allCases {
    let bytes = Data((0..<(6 * dtype.size)).map { UInt8($0 * 37 % 251) })
    let array = NPYArray(shape: [2, 3], dtype: dtype, bytes: bytes)
    let url = directory.appendingPathComponent("\(dtype).npy")
    try NPYFile.write(array, to: url)
    #expect(try NPYFile.read(url) == array)
  }
}

@Test func headersAre64ByteAligned() {
  for shape in [[1], [3, 4], [100_000, 1797, 10, 10]] {
    #expect(NPYHeader(dtype: .float32, shape: shape).encoded().count % 64 == 0)
  }
}

@Test(arguments: [
  ("not_npy.npy", "not an .npy file"), ("f4_truncated.npy", "truncated"),
  ("f4_trailing.npy", "shape/data mismatch"), ("f4_fortran_3x4.npy", "Fortran order"),
  ("f4_bigendian_3x4.npy", "big-endian"), ("c8_complex_2.npy", "unsupported dtype '<c8'"),
  ("bad_version.npy", "unsupported .npy format version 9.0"), ("bad_shape_header.npy", "shape entry 'x'"),
])
func corruptFilesNameTheProblem(name: String, expected: String) {
  do {
    _ = try NPYFile.read(npyFixture(name))
    Issue.record("\(name) was accepted")
  } catch {
    #expect("\(error)".contains(expected), "\(error)")
    #expect("\(error)".contains(name), "error should name the file: \(error)")
  }
}

@Test func missingFileIsACannotReadError() {
  #expect(throws: NPYError.self) { try NPYFile.read(URL(fileURLWithPath: "/nonexistent/x.npy")) }
}

@Test func integerViewsRejectFractionalFloats() throws {
  #expect(try NPYArray(float32: [1, 2, 3], shape: [3]).int64Values() == [1, 2, 3])
  #expect(throws: NPYError.notIntegral(path: "y.npy", index: 1, value: 2.5)) {
    try NPYArray(float32: [1, 2.5], shape: [2]).int64Values(path: "y.npy")
  }
}

/// numpy only writes minor version 0; 1.9 (or 2.1) is a file entk cannot know the layout of.
@Test(arguments: [(UInt8(1), UInt8(9)), (2, 1), (3, 255)])
func minorVersionsOtherThanZeroAreRefused(major: UInt8, minor: UInt8) throws {
  let directory = try TestEnvironment.temporaryDirectory()
  defer { try? FileManager.default.removeItem(at: directory) }
  var bytes = try Data(contentsOf: npyFixture(major == 1 ? "f4_3x4_v1.npy" : "f4_2x3x2_v2.npy"))
  if major == 3 { bytes = try Data(contentsOf: npyFixture("f4_5_v3.npy")) }
  #expect(bytes[6] == major && bytes[7] == 0)
  bytes[7] = minor
  let url = directory.appendingPathComponent("v\(major)_\(minor).npy")
  try bytes.write(to: url)
  #expect(throws: NPYError.unsupportedVersion(path: url.path, major: major, minor: minor)) {
    try NPYFile.read(url)
  }
}

/// A folder, or a path under a file, is named as such, not as Foundation's "error 256".
@Test func unreadablePathsAreSentences() throws {
  let directory = try TestEnvironment.temporaryDirectory()
  defer { try? FileManager.default.removeItem(at: directory) }
  let file = directory.appendingPathComponent("a-file")
  try Data("x".utf8).write(to: file)
  for (url, reason) in [
    (directory, "it is a folder, not a file"),
    (file.appendingPathComponent("under.npy"), "a component of the path is a file, not a folder"),
    (directory.appendingPathComponent("missing.npy"), "no such file or folder"),
  ] {
    #expect(throws: NPYError.cannotRead(path: url.path, reason: reason)) { try NPYFile.read(url) }
  }
}
