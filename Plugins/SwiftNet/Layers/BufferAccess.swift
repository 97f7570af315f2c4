/// Base pointers of non-empty Float arrays for BLAS calls. Every batch buffer in this backend
/// has at least one element (n ≥ 1 and every dimension ≥ 1 are checked at the ABI and at open),
/// so the base address exists; this is the one place that relies on it.
extension Array where Element == Float {
  func withBase<R>(_ body: (UnsafePointer<Float>) throws -> R) rethrows -> R {
    try withUnsafeBufferPointer { try body($0.baseAddress!) }
  }

  mutating func withMutableBase<R>(_ body: (UnsafeMutablePointer<Float>) throws -> R) rethrows -> R {
    try withUnsafeMutableBufferPointer { try body($0.baseAddress!) }
  }
}
