/// A float32 buffer with a stable, non-nil address, owned by the kernel stage for feature
/// blocks, scratch and tiles (what BLAS calls and backend outputs write into).
///
/// Not initialised: every user writes an element before reading it (sgemm with beta = 0, the
/// backend's outputs, the layout pass), and leaving gigabyte tiles untouched until then saves a
/// pass over memory.
final class FloatBuffer {
  let pointer: UnsafeMutablePointer<Float>
  let count: Int

  init(count: Int) {
    // At least one element, so the address exists even for an empty buffer.
    pointer = .allocate(capacity: max(count, 1))
    self.count = count
  }

  deinit { pointer.deallocate() }
}
