import Testing
import EntkTestSupport
@Test func listsExampleC() throws {
  let result = try runEntk(["backends"])
  #expect(result.status == 0)
  #expect(result.stdout.contains("example-c"))
}
