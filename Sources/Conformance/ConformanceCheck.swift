/// The outcome of one conformance check.
public struct ConformanceCheck: Sendable, Equatable, Codable {
  public enum Outcome: String, Sendable, Codable {
    case passed, failed, skipped
  }

  /// Short identifier such as "vjp-finite-differences".
  public var name: String
  public var outcome: Outcome
  /// What was measured, or why it failed or was skipped.
  public var detail: String

  public init(name: String, outcome: Outcome, detail: String) {
    self.name = name
    self.outcome = outcome
    self.detail = detail
  }
}
