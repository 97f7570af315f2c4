import COpenBLAS
import Glibc

/// Process-wide settings the backend makes once, when its first model opens.
///
/// - OpenBLAS runs single-threaded: the host calls the backend from one thread per core (one
///   model each), so OpenBLAS's own pool would only compete with those threads (`MatrixMultiply`).
/// - glibc keeps freed large blocks for reuse instead of unmapping them: a reverse pass allocates
///   and frees gradients of hundreds of megabytes per sample, and with glibc's default each one is
///   a fresh mapping whose pages the kernel zeroes on first touch (measured on ResNet-18's
///   Jacobian: 5.9 s of system time per 8 samples, 2.3 s with the blocks reused).
enum ProcessTuning {
  static let applied: Void = {
    openblas_set_num_threads(1)
    // `mallopt` lives in <malloc.h>, which Swift's Glibc module does not export; its parameter
    // numbers are glibc's stable ABI (M_TRIM_THRESHOLD = -1, M_MMAP_THRESHOLD = -3). A C library
    // without it (not glibc) keeps its default behaviour.
    typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
    if let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") {
      let mallopt = unsafeBitCast(symbol, to: Mallopt.self)
      _ = mallopt(-3, 32 << 20)
      _ = mallopt(-1, Int32.max)
    }
  }()
}
