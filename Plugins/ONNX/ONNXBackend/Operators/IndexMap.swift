import Foundation

/// Index maps: the one mechanism behind broadcasting, transposes, slices, pads, splits,
/// concatenation and gathers.
///
/// A map lists, for each element of a result, the linear index it reads in the source (-1 = a fill
/// value). The forward pass gathers through it and the reverse pass scatter-adds through it, so
/// every such operator gets its gradient for free.
enum IndexMap {
  /// Row-major strides of `shape`.
  static func strides(_ shape: [Int]) -> [Int] {
    var result = [Int](repeating: 1, count: shape.count)
    var step = 1
    for d in stride(from: shape.count - 1, through: 0, by: -1) {
      result[d] = step
      step *= shape[d]
    }
    return result
  }

  /// Combines per-dimension contributions: element (c0, c1, ...) maps to Σ_d parts[d][c_d],
  /// or -1 when any part is negative.
  ///
  /// A model asks for the same few maps at every call (a broadcast, a transpose, a slice of the
  /// same shapes), so maps are kept (`IndexMapCache`), keyed by their parts: hashing the parts
  /// costs Σ_d |parts[d]|, building the map Π_d |parts[d]|.
  static func combine(_ parts: [[Int]]) -> [Int] {
    IndexMapCache.shared.map(for: parts)
  }

  fileprivate static func computeCombined(_ parts: [[Int]]) -> [Int] {
    let count = parts.reduce(1) { $0 * $1.count }
    guard count > 0 else { return [] }
    guard !parts.isEmpty else { return [0] }
    var result = [Int](repeating: 0, count: count)
    var coords = [Int](repeating: 0, count: parts.count)
    let last = parts.count - 1
    for i in 0..<count {
      var index = 0
      for d in 0...last {
        let part = parts[d][coords[d]]
        if part < 0 {
          index = -1
          break
        }
        index += part
      }
      result[i] = index
      var d = last
      while d >= 0 {
        coords[d] += 1
        if coords[d] < parts[d].count { break }
        coords[d] = 0
        d -= 1
      }
    }
    return result
  }

  /// Largest tensor the interpreter creates from a shape it reads from data (2^31 elements).
  static let maximumElementCount = 1 << 31

  /// The element count of `shape`, checked.
  ///
  /// No negative dimension, no overflow, at most `maximumElementCount` elements. Shapes read from tensors or attributes go through here
  /// so that a hostile model gets an error instead of a trap or an absurd allocation.
  static func checkedCount(_ shape: [Int]) throws(ONNXError) -> Int {
    var count = 1
    for d in shape {
      guard d >= 0, d <= maximumElementCount else {
        throw .shapeMismatch("shape \(shape) has an invalid dimension \(d)")
      }
      let (product, overflow) = count.multipliedReportingOverflow(by: d)
      guard !overflow, product <= maximumElementCount else {
        throw .shapeMismatch("shape \(shape) has more than \(maximumElementCount) elements")
      }
      count = product
    }
    return count
  }

  /// Numpy-style (multidirectional) broadcast of two shapes.
  static func broadcastShape(_ a: [Int], _ b: [Int]) throws(ONNXError) -> [Int] {
    let rank = max(a.count, b.count)
    var result = [Int](repeating: 1, count: rank)
    for i in 0..<rank {
      let x = i < rank - a.count ? 1 : a[i - (rank - a.count)]
      let y = i < rank - b.count ? 1 : b[i - (rank - b.count)]
      guard x == y || x == 1 || y == 1 else {
        throw .shapeMismatch("shapes \(a) and \(b) do not broadcast")
      }
      result[i] = x == 1 ? y : x
    }
    _ = try checkedCount(result)
    return result
  }

  /// For each element of `target`, the index of the element of `source` broadcast onto it.
  ///
  /// Precondition: `source` broadcasts to `target`.
  static func broadcast(from source: [Int], to target: [Int]) -> [Int] {
    let offset = target.count - source.count
    let sourceStrides = strides(source)
    let parts = target.indices.map { d -> [Int] in
      let s = d - offset
      if s < 0 || source[s] == 1 { return [Int](repeating: 0, count: target[d]) }
      return (0..<target[d]).map { $0 * sourceStrides[s] }
    }
    return combine(parts)
  }

  /// `values` gathered through `map` (fill where the map is negative).
  static func gather(_ values: [Float], _ map: [Int], fill: Float = 0) -> [Float] {
    map.map { $0 >= 0 ? values[$0] : fill }
  }

  /// The reverse of `gather`: result[map[i]] += gradient[i], result has `count` elements.
  static func scatterAdd(_ gradient: [Float], _ map: [Int], count: Int) -> [Float] {
    var result = [Float](repeating: 0, count: count)
    for (i, target) in map.enumerated() where target >= 0 {
      result[target] += gradient[i]
    }
    return result
  }

  /// `scatterAdd` for `rows` stacked gradients ([rows, map.count] in, [rows, count] out).
  static func scatterAdd(_ gradient: [Float], _ map: [Int], rows: Int, count: Int) throws(ONNXError) -> [Float] {
    guard gradient.count == rows * map.count else {
      throw .shapeMismatch("\(rows) gradient rows of \(map.count) hold \(gradient.count) floats")
    }
    var result = [Float](repeating: 0, count: rows * count)
    gradient.withUnsafeBufferPointer { gradient in
      map.withUnsafeBufferPointer { map in
        result.withUnsafeMutableBufferPointer { result in
          for r in 0..<rows {
            let source = r * map.count
            let target = r * count
            for i in 0..<map.count where map[i] >= 0 { result[target + map[i]] += gradient[source + i] }
          }
        }
      }
    }
    return result
  }

  /// `scatterAdd` of `rows` stacked gradients into a parameter sink (zero-filled first unless
  /// `accumulate`).
  static func scatterAdd(_ gradient: [Float], _ map: [Int], rows: Int, into sink: ParameterSink, accumulate: Bool)
    throws(ONNXError)
  {
    guard gradient.count == rows * map.count, map.allSatisfy({ $0 < sink.count }) else {
      throw .shapeMismatch("\(rows) gradient rows of \(map.count) do not scatter into rows of \(sink.count)")
    }
    if !accumulate { sink.clear(rows: rows) }
    gradient.withUnsafeBufferPointer { gradient in
      map.withUnsafeBufferPointer { map in
        for r in 0..<rows {
          let target = sink.row(r)
          let source = r * map.count
          for i in 0..<map.count where map[i] >= 0 { target[map[i]] += gradient[source + i] }
        }
      }
    }
  }
}

/// Index maps by their per-dimension parts, shared by every model in the process (a map is a pure
/// function of its parts).
///
/// Bounded by total elements: maps larger than a quarter of the budget are not kept, and when
/// the budget is full the cache starts again.
private final class IndexMapCache: @unchecked Sendable {
  static let shared = IndexMapCache()
  /// 2²⁴ indices (128 MiB).
  static let budget = 1 << 24

  private let lock = NSLock()
  private var maps: [[[Int]]: [Int]] = [:]
  private var elements = 0

  func map(for parts: [[Int]]) -> [Int] {
    lock.lock()
    if let map = maps[parts] {
      lock.unlock()
      return map
    }
    lock.unlock()
    let map = IndexMap.computeCombined(parts)
    guard map.count <= Self.budget / 4 else { return map }
    lock.lock()
    if elements + map.count > Self.budget {
      maps.removeAll()
      elements = 0
    }
    if maps.updateValue(map, forKey: parts) == nil { elements += map.count }
    lock.unlock()
    return map
  }
}
