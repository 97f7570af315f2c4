/// A zero-initialised float32 buffer with a stable, non-nil address, owned by the kernel stage
/// for feature blocks, scratch and tiles (what BLAS calls and backend outputs write into).
final class FloatBuffer {
  let pointer: UnsafeMutablePointer<Float>
  let count: Int

  init(count: Int) {
    // At least one element, so the address exists even for an empty buffer.
    pointer = .allocate(capacity: max(count, 1))
    pointer.initialize(repeating: 0, count: max(count, 1))
    self.count = count
  }

  deinit { pointer.deallocate() }
}
