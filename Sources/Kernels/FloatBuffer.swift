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

  /// A buffer of `count` floats; aborts, like any Swift allocation, when memory runs out (for the
  /// Gram stage's small fixed scratch; large buffers use `checked`).
  convenience init(count: Int) {
    if let mapped = Self.map(count: count) {
      self.init(pointer: mapped, count: count, mappedBytes: count * MemoryLayout<Float>.stride)
    } else {
      // At least one element, so the address exists even for an empty buffer.
      self.init(pointer: .allocate(capacity: max(count, 1)), count: count, mappedBytes: 0)
    }
  }

  /// A buffer of `count` floats for one of the kernel stage's large allocations (features, the
  /// producer's scratch, tiles), which `TileSizing` counts against `--memory`.
  /// - Throws: `KernelError.allocationFailed` naming `purpose` when the system refuses the memory,
  ///   instead of aborting.
  static func checked(count: Int, purpose: String) throws -> FloatBuffer {
    let bytes = count * MemoryLayout<Float>.stride
    guard bytes >= hugePageThreshold else { return FloatBuffer(count: count) }
    guard let mapped = map(count: count) else { throw KernelError.allocationFailed(bytes: bytes, purpose: purpose) }
    return FloatBuffer(pointer: mapped, count: count, mappedBytes: bytes)
  }

  private init(pointer: UnsafeMutablePointer<Float>, count: Int, mappedBytes: Int) {
    self.pointer = pointer
    self.count = count
    self.mappedBytes = mappedBytes
  }

  /// Maps `count` floats advised to use huge pages, or nil below `hugePageThreshold` or when mmap fails.
  private static func map(count: Int) -> UnsafeMutablePointer<Float>? {
    let bytes = count * MemoryLayout<Float>.stride
    guard bytes >= hugePageThreshold,
      let address = mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
      address != MAP_FAILED
    else { return nil }
    _ = madvise(address, bytes, MADV_HUGEPAGE)
    return address.bindMemory(to: Float.self, capacity: count)
  }

  deinit {
    if mappedBytes > 0 {
      munmap(pointer, mappedBytes)
    } else {
      pointer.deallocate()
    }
  }
}
