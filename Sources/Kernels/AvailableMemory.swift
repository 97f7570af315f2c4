import Foundation

/// The memory this process can use now: the kernel's MemAvailable (free memory plus what the
/// page cache can give back), lowered to the room left under a cgroup memory limit when one is set
/// (cgroup v2 `memory.max` − `memory.current`, or v1 `memory.limit_in_bytes` − `usage_in_bytes`).
public struct AvailableMemory: Sendable, Equatable {
  /// MemAvailable in bytes, nil when /proc/meminfo has no such line.
  public let system: Int?
  /// Bytes left under the cgroup's limit, nil without a limit.
  public let cgroup: Int?

  /// The share of the available memory `entk kernel` and `entk plan` take for `--memory` by
  /// default: the budget leaves out the inputs, the backend's and OpenBLAS's buffers, and other
  /// processes need room too.
  public static let defaultShare = 0.5
  /// The budget when nothing can be read (no /proc): the fixed default entk had before.
  public static let fallbackBudget = 2 << 30

  public init(system: Int?, cgroup: Int?) {
    self.system = system
    self.cgroup = cgroup
  }

  /// Reads /proc/meminfo and the cgroup files under `root` ("/" on a live system).
  public static func read(root: URL = URL(fileURLWithPath: "/")) -> AvailableMemory {
    func text(_ path: String) -> String? {
      try? String(contentsOf: root.appendingPathComponent(path), encoding: .utf8)
    }
    func number(_ path: String) -> Int? {
      text(path).flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }
    let system = text("proc/meminfo").flatMap(Self.memAvailable)
    // A v1 "unlimited" is a huge page-rounded number, v2's is the word "max" (no number).
    var cgroup: Int?
    for (limit, usage) in [
      ("sys/fs/cgroup/memory.max", "sys/fs/cgroup/memory.current"),
      ("sys/fs/cgroup/memory/memory.limit_in_bytes", "sys/fs/cgroup/memory/memory.usage_in_bytes"),
    ] {
      if let limit = number(limit), limit < 1 << 60 {
        cgroup = max(0, limit - (number(usage) ?? 0))
        break
      }
    }
    return AvailableMemory(system: system, cgroup: cgroup)
  }

  /// The MemAvailable line of /proc/meminfo ("MemAvailable:   23683172 kB"), in bytes.
  static func memAvailable(_ meminfo: String) -> Int? {
    for line in meminfo.split(separator: "\n") where line.hasPrefix("MemAvailable:") {
      let fields = line.split(separator: " ", omittingEmptySubsequences: true)
      guard fields.count >= 2, let value = Int(fields[1]) else { return nil }
      return fields.count >= 3 && fields[2] == "kB" ? value * 1024 : value
    }
    return nil
  }

  /// The available bytes (the smaller of the two), nil when neither could be read.
  public var bytes: Int? { [system, cgroup].compactMap { $0 }.min() }

  /// `defaultShare` of `bytes`, or `fallbackBudget` when unknown; at least 64 MiB.
  public var defaultBudget: Int {
    guard let bytes else { return Self.fallbackBudget }
    return max(64 << 20, Int(Double(bytes) * Self.defaultShare))
  }

  /// Where the budget came from, for the run's log: "half of the 22.1 GiB available (MemAvailable)".
  public var defaultBudgetSource: String {
    guard let bytes else { return "no /proc/meminfo or cgroup limit found, the fixed default" }
    let source = cgroup == bytes ? "the cgroup memory limit" : "MemAvailable"
    return "\(Int(Self.defaultShare * 100))% of the \(Self.format(bytes)) available (\(source))"
  }

  /// Bytes as GiB or MiB with one decimal.
  public static func format(_ bytes: Int) -> String {
    bytes >= 1 << 30
      ? String(format: "%.1f GiB", Double(bytes) / Double(1 << 30))
      : String(format: "%.1f MiB", Double(bytes) / Double(1 << 20))
  }
}
