import COpenBLAS
import Dispatch

/// One thread's buffers for the panel pairs it computes (`GramTile.compute`).
final class PanelWorkspace: @unchecked Sendable {
  /// Threads that compute one pair's chunks side by side.
  let workers: Int
  /// Float64 panels: the pair's sum over terms, one term's Gram, and its scale's Gram.
  let sum: UnsafeMutablePointer<Double>
  let gram: UnsafeMutablePointer<Double>
  let scale: UnsafeMutablePointer<Double>
  /// Each worker's float32 product of one chunk.
  private let productBuffers: [FloatBuffer]
  /// Each worker's two operand copies, touched only when a tile cuts a panel or a sum is made
  /// whole (`GramTile.Chunk.expanded`).
  private let copyBuffers: [FloatBuffer]
  /// Each worker's buffers for dense sums (`SummedFactor.products`).
  let summedScratch: [SummedScratch]

  init(workers: Int) {
    let side = GramTile.panelSide
    self.workers = workers
    sum = .allocate(capacity: 3 * side * side)
    (gram, scale) = (sum + side * side, sum + 2 * side * side)
    // Zeroed: ssyrk leaves a product's lower triangle as it was, and it is summed unused.
    productBuffers = (0..<workers).map { _ in
      let buffer = FloatBuffer(count: side * side)
      buffer.pointer.update(repeating: 0, count: side * side)
      return buffer
    }
    copyBuffers = (0..<2 * workers).map { _ in FloatBuffer(count: side * GramTile.accumulationChunk) }
    summedScratch = (0..<workers).map { _ in SummedScratch() }
  }

  func product(_ worker: Int) -> UnsafeMutablePointer<Float> { productBuffers[worker].pointer }
  func copy(_ worker: Int, side: Int) -> UnsafeMutablePointer<Float> { copyBuffers[2 * worker + side].pointer }

  deinit { sum.deallocate() }
}

/// One pair of panels of a tile (`panelSide` rows by `panelSide` columns of the whole sets' grid):
/// each term's Gram summed into the workspace's float64 `sum`, then scattered into the tile.
struct PanelPair: @unchecked Sendable {
  let rows: ViewBlock
  let columns: ViewBlock
  let rowPanel: ViewBlock.Panel
  let columnPanel: ViewBlock.Panel
  /// A diagonal tile of a symmetric kernel: only values on and above the diagonal are used.
  let symmetric: Bool
  /// The rows and columns are samples of one set (a symmetric kernel's tile): a panel paired with
  /// itself is computed by ssyrk.
  let sameSet: Bool
  let leadingDimension: Int
  let workspace: PanelWorkspace

  private var side: Int { GramTile.panelSide }

  /// Adds one term's values for every (row, column) of the pair to the workspace's `sum`.
  func add(_ term: GramTile.Term) {
    if let summed = term.summed {
      if summed.oneHot { addOneHot(summed) } else { addProducts(summed) }
      return
    }
    let sum = workspace.sum
    gram(term.chunks, into: workspace.gram)
    if let ranges = term.scale { gram(ranges.map(GramTile.Chunk.stored), into: workspace.scale) }
    for i in rowPanel.positions {
      let (line, g, k) = (sum + i * side, workspace.gram + i * side, workspace.scale + i * side)
      if term.scale == nil {
        for j in columnPanel.positions { line[j] += g[j] }
      } else {
        for j in columnPanel.positions { line[j] += g[j] * k[j] }
      }
    }
  }

  /// One chunk's float32 product by worker `worker`: a fixed call shape, so its bits do not
  /// depend on the worker.
  private func multiply(_ chunk: GramTile.Chunk, worker: Int) {
    if sameSet && rowPanel.origin == columnPanel.origin {
      // One panel of the set with itself: the upper triangle, from one operand holding the
      // pair's rows and columns (the rows come first).
      let a = rows.operand(
        rowPanel, chunk, leadingDimension: leadingDimension, copy: workspace.copy(worker, side: 0),
        with: symmetric ? nil : (columns, columnPanel))
      cblas_ssyrk(
        CblasRowMajor, CblasUpper, CblasNoTrans, Int32(rowPanel.height), Int32(chunk.width), 1, a.pointer,
        Int32(a.leadingDimension), 0, workspace.product(worker), Int32(side))
      return
    }
    let a = rows.operand(rowPanel, chunk, leadingDimension: leadingDimension, copy: workspace.copy(worker, side: 0))
    let b = columns.operand(
      columnPanel, chunk, leadingDimension: leadingDimension, copy: workspace.copy(worker, side: 1))
    cblas_sgemm(
      CblasRowMajor, CblasNoTrans, CblasTrans, Int32(rowPanel.height), Int32(columnPanel.height),
      Int32(chunk.width), 1, a.pointer, Int32(a.leadingDimension), b.pointer, Int32(b.leadingDimension), 0,
      workspace.product(worker), Int32(side))
  }

  /// The pair's Gram of feature `chunks`, float32 products summed in float64 in feature order (the
  /// first chunk is stored as it is: 0 + x = x), `workers` chunks at a time.
  private func gram(_ chunks: [GramTile.Chunk], into values: UnsafeMutablePointer<Double>) {
    let workers = workspace.workers
    if chunks.isEmpty { values.update(repeating: 0, count: side * side) }
    for first in stride(from: 0, to: chunks.count, by: workers) {
      let batch = first..<min(first + workers, chunks.count)
      if batch.count == 1 {
        multiply(chunks[first], worker: 0)
      } else {
        DispatchQueue.concurrentPerform(iterations: batch.count) { multiply(chunks[first + $0], worker: $0) }
      }
      for (worker, index) in batch.enumerated() {
        let product = workspace.product(worker)
        for i in rowPanel.positions {
          let (line, source) = (values + i * side, product + i * side)
          if index == 0 {
            for j in columnPanel.positions { line[j] = Double(source[j]) }
          } else {
            for j in columnPanel.positions { line[j] += Double(source[j]) }
          }
        }
      }
    }
  }

  /// A dense sum's values by sgemm on sub-panels of the pair, fixed by the whole sets' grid
  /// (`samplesPerProduct` from each panel's origin), dealt to the workers.
  ///
  /// A sub-panel of one set paired with itself is one ssyrk product whatever the tile, as in
  /// `multiply`: its rows hold the row tile's samples and then the column tile's.
  private func addProducts(_ summed: SummedFactor) {
    let q = summed.samplesPerProduct
    let cut = { (height: Int) in stride(from: 0, to: height, by: q).map { $0..<min($0 + q, height) } }
    let (rowParts, columnParts) = (cut(rowPanel.height), cut(columnPanel.height))
    // One panel of one set: the rows' samples come before the columns', so no pair lies below
    // the diagonal of sub-panels.
    let samePanel = sameSet && rowPanel.origin == columnPanel.origin
    let jobs = rowParts.indices.flatMap { u in
      columnParts.indices.filter { !samePanel || $0 >= u }.map { (u, $0) }
        .filter { rowParts[$0.0].overlaps(rowPanel.positions) && columnParts[$0.1].overlaps(columnPanel.positions) }
    }
    let workers = workspace.workers
    DispatchQueue.concurrentPerform(iterations: min(workers, jobs.count)) { worker in
      for (u, v) in stride(from: worker, to: jobs.count, by: workers).map({ jobs[$0] }) {
        let (rowPart, columnPart) = (rowParts[u], columnParts[v])
        let row = { (block: ViewBlock, panel: ViewBlock.Panel, position: Int) in
          panel.positions.contains(position) ? block.row(panel, position, leadingDimension: leadingDimension) : nil
        }
        // A sub-panel with itself: one list of its samples, ssyrk's operand.
        let itself = samePanel && u == v
        summed.products(
          rows: rowPart.map { row(rows, rowPanel, $0) ?? (itself ? row(columns, columnPanel, $0) : nil) },
          columns: itself ? nil : columnPart.map { row(columns, columnPanel, $0) },
          scratch: workspace.summedScratch[worker]
        ) { i, j, value in
          workspace.sum[(rowPart.lowerBound + i) * side + columnPart.lowerBound + j] += value
        }
      }
    }
  }

  /// A one-hot sum's values pair by pair, the rows dealt to the workers; those the scatter skips (a
  /// symmetric tile's lower triangle) are not computed.
  private func addOneHot(_ summed: SummedFactor) {
    let positions = Array(rowPanel.positions)
    let workers = min(workspace.workers, positions.count)
    DispatchQueue.concurrentPerform(iterations: workers) { worker in
      let scratch = workspace.summedScratch[worker]
      for i in stride(from: worker, to: positions.count, by: workers).map({ positions[$0] }) {
        let (line, x) = (workspace.sum + i * side, rows.row(rowPanel, i, leadingDimension: leadingDimension))
        let row = rowPanel.origin + i - rows.start
        for j in columnPanel.positions where !symmetric || columnPanel.origin + j - columns.start >= row {
          line[j] += summed.value(x, columns.row(columnPanel, j, leadingDimension: leadingDimension), scratch: scratch)
        }
      }
    }
  }

  /// Writes the pair's sums to the tile as float32 in the stored layout.
  ///
  /// Each is divided by √(K(x,x)·K(x',x')) with `selves` (by nothing, giving 0, where a self-value
  /// is 0). A symmetric
  /// kernel computes only pairs on and above the diagonal; each value of the upper triangle is
  /// also written mirrored, so the two halves hold the same bits.
  func scatter(
    into output: UnsafeMutablePointer<Float>, rowOffsets: [Int], columnOffsets: [Int],
    selves: (rows: [Double], columns: [Double])?
  ) {
    for i in rowPanel.positions {
      let row = rowPanel.origin + i - rows.start
      for j in columnPanel.positions {
        let column = columnPanel.origin + j - columns.start
        if symmetric && column < row { continue }
        var value = workspace.sum[i * side + j]
        if let selves {
          let norm = (selves.rows[row] * selves.columns[column]).squareRoot()
          value = norm > 0 ? value / norm : 0
        }
        output[rowOffsets[row] + columnOffsets[column]] = Float(value)
        if symmetric { output[rowOffsets[column] + columnOffsets[row]] = Float(value) }
      }
    }
  }
}
