import Foundation

/// A byte count given on the command line: a number with an optional binary suffix
/// K, M, G or T (optionally followed by B or iB): "2G" = 2·2³⁰ bytes, "512M", "1.5G", "1000000".
public struct MemoryBudget: Sendable, Equatable {
  public let bytes: Int

  public init(parsing text: String) throws {
    var number = text.trimmingCharacters(in: .whitespaces).uppercased()
    for suffix in ["IB", "B"] where number.hasSuffix(suffix) && number.count > suffix.count {
      number.removeLast(suffix.count)
      break
    }
    var scale = 1.0
    if let last = number.last, let power = ["K": 1, "M": 2, "G": 3, "T": 4][String(last)] {
      scale = Double(1 << (10 * power))
      number.removeLast()
    }
    guard let value = Double(number), value.isFinite, value > 0, value * scale < 9e18 else {
      throw KernelError.badArgument(
        option: "--memory", value: text, reason: "expected a positive size such as 2G, 512M or 1000000")
    }
    bytes = Int(value * scale)
  }
}
