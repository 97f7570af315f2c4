import ArrayIO
import EntkTestSupport
import Foundation
import Testing

@testable import Kernels

/// Gradients of `samples` × `rows` × `p` floats, deterministic and of mixed signs and scales.
private func syntheticGradients(samples: Int, rows: Int, p: Int) -> [Float] {
  (0..<samples * rows * p).map { Float(sin(Double($0) * 0.731) * (1 + Double($0 % 7))) }
}

/// Projects `gradients` in the given batches (ranges of samples), each with its own call.
private func project(
  _ gradients: [Float], projection: CounterProjection, rows: Int, batches: [Range<Int>], threads: Int
) -> [Float] {
  let p = projection.columns
  let k = projection.rows
  let projector = GradientProjector(projection: projection, rowsPerSample: rows, threads: threads)
  let samples = gradients.count / (rows * p)
  let input = FloatBuffer(count: gradients.count)
  input.pointer.update(from: gradients, count: gradients.count)
  let out = FloatBuffer(count: samples * rows * k)
  for batch in batches {
    // Scratch full of NaN: anything read before it is written shows in the result.
    let scratch = FloatBuffer(
      count: GradientProjector.scratchFloats(projection: projection, rowsPerSample: rows, batchSize: batch.count))
    scratch.pointer.initialize(repeating: .nan, count: scratch.count)
    projector.project(
      gradients: input.pointer + batch.lowerBound * rows * p, count: batch.count, firstSample: batch.lowerBound,
      setCount: samples, into: out.pointer + batch.lowerBound * rows * k, scratch: scratch.pointer)
  }
  return Array(UnsafeBufferPointer(start: out.pointer, count: out.count))
}

/// R g in float64 from `CounterProjection.entry`, one row at a time.
private func bruteForceProjection(_ gradients: [Float], projection: CounterProjection) -> [Double] {
  let (p, k) = (projection.columns, projection.rows)
  let r = (0..<k).map { row in (0..<p).map { Double(projection.entry(row: row, column: $0)) } }
  return stride(from: 0, to: gradients.count, by: p).flatMap { start in
    r.map { line in (0..<p).reduce(0.0) { $0 + line[$1] * Double(gradients[start + $1]) } }
  }
}

/// 10 rows per sample (a 10-class proj-trntk: dense blocks of 12 samples, so batches cut them) and
/// 30 samples; P = 5000 (two chunks of R) with k = 24, or P = 300 with k = 600 (two pieces of R's
/// rows, which the threads share when a batch holds fewer blocks than threads).
@Test(arguments: [ProjectionDistribution.gaussian, .rademacher, .sparse], [(p: 5000, k: 24), (p: 300, k: 600)])
func projectionIsBitIdenticalAcrossBatchesAndThreadsAndMatchesRTimesG(
  distribution: ProjectionDistribution, size: (p: Int, k: Int)
) {
  let (samples, rows, p, k) = (30, 10, size.p, size.k)
  let projection = CounterProjection(
    rows: k, columns: p, distribution: distribution, seed: 11, density: distribution == .sparse ? 4 : 0)
  let gradients = syntheticGradients(samples: samples, rows: rows, p: p)
  let whole = project(gradients, projection: projection, rows: rows, batches: [0..<samples], threads: 1)
  for (batches, threads) in [
    ([0..<7, 7..<19, 19..<30], 2), ([0..<1, 1..<25, 25..<30], 1), ([0..<12, 12..<30], 2), ([0..<5, 5..<30], 2),
  ] {
    let split = project(gradients, projection: projection, rows: rows, batches: batches, threads: threads)
    #expect(differingBits(split, whole) == 0, "\(distribution) batches \(batches) threads \(threads)")
  }
  let error = relativeError(whole, bruteForceProjection(gradients, projection: projection))
  #expect(error <= 1e-6, "\(distribution): relative error against float64 R g \(error)")
}

/// Every entry of R against tools/projection_reference.py (numpy, docs/projection.md), bit for bit,
/// for k and P that cross a generation chunk.
@Test(arguments: [
  (ProjectionDistribution.gaussian, UInt64(7), 0), (.rademacher, UInt64.max, 0), (.sparse, 42, 1), (.sparse, 5, 3),
  (.sparse, 0, 13),
])
func projectionMatchesTheNumpyReference(distribution: ProjectionDistribution, seed: UInt64, density: Int) throws {
  let (k, p) = (13, 4200)
  let directory = try TestEnvironment.temporaryDirectory("projection-reference")
  defer { try? FileManager.default.removeItem(at: directory) }
  let file = directory.appendingPathComponent("r.npy")
  let script = TestEnvironment.repositoryRoot.appendingPathComponent("tools/projection_reference.py").path
  let result = try runCommand(
    URL(fileURLWithPath: "/usr/bin/env"),
    ["python3", script, String(k), String(p), String(seed), distribution.rawValue, file.path]
      + (density > 0 ? [String(density)] : []))
  try #require(result.status == 0, "projection_reference.py failed: \(result.stderr)")
  let reference = try NPYFile.read(file).float32Values()
  let projection = CounterProjection(rows: k, columns: p, distribution: distribution, seed: seed, density: density)
  var generated = [Float](repeating: 0, count: k * p)
  if distribution != .sparse {
    generated.withUnsafeMutableBufferPointer { projection.fill(rows: 0..<k, columns: 0..<p, into: $0.baseAddress!) }
  } else {
    for column in 0..<p {
      let nonzeros = projection.sparseColumn(column)
      for (row, sign) in zip(nonzeros.rows, nonzeros.signs) {
        generated[Int(row) * p + column] = sign / Float(density).squareRoot()
      }
    }
  }
  #expect(differingBits(generated, reference.map(Double.init).map(Float.init)) == 0)
  let entries = (0..<k).flatMap { row in (0..<p).map { projection.entry(row: row, column: $0) } }
  #expect(differingBits(entries, reference) == 0)
}

/// A sparse R's columns have exactly s nonzeros ±1/√s in distinct rows, so ‖R e_j‖ = 1, and about
/// half of them are negative; rows are hit about uniformly.
@Test func sparseColumnsHoldDensityDistinctRowsWithBalancedSigns() {
  // docs/projection.md's known column, printed by tools/projection_reference.py.
  let known = CounterProjection(rows: 16, columns: 1, distribution: .sparse, seed: 3, density: 4).sparseColumn(0)
  #expect(known.rows == [1, 11, 9, 3] && known.signs == [-1, -1, -1, 1])
  let (k, p, s) = (64, 20000, 4)
  let projection = CounterProjection(rows: k, columns: p, distribution: .sparse, seed: 3, density: s)
  var hits = [Int](repeating: 0, count: k)
  var negative = 0
  for column in 0..<p {
    let (rows, signs) = projection.sparseColumn(column)
    #expect(Set(rows).count == s && rows.allSatisfy { $0 < k })
    for row in rows { hits[Int(row)] += 1 }
    negative += signs.filter { $0 < 0 }.count
  }
  let expected = Double(p * s) / Double(k)
  // Binomial counts: the standard deviation is about √1250 ≈ 35; allow 6 of them.
  #expect(hits.allSatisfy { abs(Double($0) - expected) < 6 * expected.squareRoot() }, "\(hits)")
  #expect(abs(Double(negative) / Double(p * s) - 0.5) < 0.01)
}

@Test func sparseProjectionSettingsAreChecked() throws {
  #expect(throws: KernelError.projection("--proj-kind sparse needs --proj-density s")) {
    try KernelSettings(kind: .projTrntk, projection: ProjectionSettings(dim: 8, distribution: .sparse, seed: 0))
  }
  for density in [0, 9] {
    #expect(throws: KernelError.self) {
      try KernelSettings(
        kind: .projTrntk, projection: ProjectionSettings(dim: 8, distribution: .sparse, seed: 0, density: density))
    }
  }
  #expect(throws: KernelError.self) {
    try KernelSettings(
      kind: .projPntk, projection: ProjectionSettings(dim: 8, distribution: .gaussian, seed: 0, density: 2))
  }
  let settings = try KernelSettings(
    kind: .projPntk, projection: ProjectionSettings(dim: 8, distribution: .sparse, seed: 0, density: 8))
  #expect(settings.projection?.density == 8)
}
