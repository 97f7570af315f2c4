import Foundation

/// The linear test backend of ABI 1.1 (`Tests/Fixtures/backends/linear_backend.c`), whose `BREAK_*`
/// defects each break one rule a host or `entk check-backend` must catch.
public enum LinearBackend {
  /// Compiles the backend (with a BREAK_* defect, or correct) into a new temporary folder.
  public static func compile(_ defect: String? = nil) throws -> URL {
    try compileCBackend(
      source: "backends/linear_backend.c", libraryName: "libentk-backend-linear.so",
      into: try TestEnvironment.temporaryDirectory(), defines: defect.map { [$0] } ?? [])
  }
}
