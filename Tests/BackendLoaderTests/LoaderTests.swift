import Testing
@testable import BackendLoader
@Test func placeholderLoads() throws {
  let library = try BackendLibrary.load("example-c")
  #expect(library.name == "example-c")
}
