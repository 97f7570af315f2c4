import Foundation

/// A float32 buffer with a stable, non-nil address, owned by the kernel stage for feature
/// blocks, scratch and tiles (what BLAS calls and backend outputs write into).
///
/// Not initialised: every user writes an element before reading it (sgemm with beta = 0, the
/// backend's outputs, the layout pass), and leaving gigabyte tiles untouched until then saves a
/// pass over memory.
///
/// Buffers of `hugePageThreshold` bytes or more are mapped directly and advised to use transparent
/// huge pages: the first touch of fresh memory is what feature blocks cost most (measured on the
/// 2-core VM: 3.9 s per GiB with 4 KiB pages, 1.1 s with 2 MiB pages).
final class FloatBuffer {
  let pointer: UnsafeMutablePointer<Float>
  let count: Int
  /// Bytes mapped with mmap, or 0 when allocated from the heap.
  private let mappedBytes: Int

  static let hugePageThreshold = 4 << 20

  init(count: Int) {
    self.count = count
    let bytes = count * MemoryLayout<Float>.stride
    if bytes >= Self.hugePageThreshold,
      let address = mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
      address != MAP_FAILED
    {
      _ = madvise(address, bytes, MADV_HUGEPAGE)
      pointer = address.bindMemory(to: Float.self, capacity: count)
      mappedBytes = bytes
    } else {
      // At least one element, so the address exists even for an empty buffer.
      pointer = .allocate(capacity: max(count, 1))
      mappedBytes = 0
    }
  }

  deinit {
    if mappedBytes > 0 {
      munmap(pointer, mappedBytes)
    } else {
      pointer.deallocate()
    }
  }
}
