import Foundation

/// The token-count test backend of ABI 1.3 (`Tests/Fixtures/backends/token_backend.c`).
///
/// Inputs `input_ids` and `attention_mask`, int64 [4] each; f_c(x) = b_c + Σ_t mask_t T[ids_t, c]
/// with V = 6 tokens and C = 2 classes. Its kernels have closed forms in the token counts n_x(v).
public enum TokenBackend {
  public static let vocabulary = 6
  public static let length = 4
  public static let classes = 2

  /// Compiles the backend (with a BREAK_* defect, or correct) into a new temporary folder.
  public static func compile(_ defect: String? = nil) throws -> URL {
    try compileCBackend(
      source: "backends/token_backend.c", libraryName: "libentk-backend-tokens.so",
      into: try TestEnvironment.temporaryDirectory(), defines: defect.map { [$0] } ?? [])
  }

  /// `Tests/Fixtures/tokens/NAME`, written by `tools/fixtures/make_token_data.py`.
  public static func data(_ name: String) -> URL { TestEnvironment.fixture("tokens/\(name)") }

  /// n_x(v): the unmasked occurrences of each token v in each sample, from ids and masks
  /// (n × `length` each, row-major).
  public static func counts(ids: [Int64], masks: [Int64]) -> [[Double]] {
    (0..<(ids.count / length)).map { sample in
      var counts = [Double](repeating: 0, count: vocabulary)
      for t in 0..<length { counts[Int(ids[sample * length + t])] += Double(masks[sample * length + t]) }
      return counts
    }
  }

  /// trntk(x, x') = Σ_c g_c(x)·g_c(x') = C (n_x·n_x' + 1): the table's gradient for class c is
  /// n_x in column c, the bias's is e_c.
  public static func trntk(_ a: [Double], _ b: [Double]) -> Double {
    Double(classes) * (zip(a, b).reduce(0) { $0 + $1.0 * $1.1 } + 1)
  }
}
