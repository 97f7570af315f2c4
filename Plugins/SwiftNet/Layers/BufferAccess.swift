/// Base pointers of Float arrays for BLAS calls and pointer arithmetic.
///
/// Every batch buffer in this backend has at least one element (n ≥ 1 and every dimension ≥ 1
/// are checked at the ABI and at open), so the base address exists. An empty array (whose
/// base address may be nil) gets a placeholder that no caller reads or writes, since a count of
/// zero elements goes with it.
extension Array where Element == Float {
  func withBase<R>(_ body: (UnsafePointer<Float>) throws -> R) rethrows -> R {
    try withUnsafeBufferPointer { try body($0.baseAddress ?? UnsafePointer(emptyPlaceholder)) }
  }

  mutating func withMutableBase<R>(_ body: (UnsafeMutablePointer<Float>) throws -> R) rethrows -> R {
    try withUnsafeMutableBufferPointer { try body($0.baseAddress ?? emptyPlaceholder) }
  }
}

/// One float, allocated once and never accessed: the base pointer handed out for empty arrays.
nonisolated(unsafe) private let emptyPlaceholder = UnsafeMutablePointer<Float>.allocate(capacity: 1)
