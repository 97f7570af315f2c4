import Foundation

/// RNN, GRU and LSTM (layout 0: X [seq, batch, input]) in forward, reverse and bidirectional
/// directions, with their default activations; reverse mode is backpropagation through time.
///
/// Gate order as ONNX stores it: GRU z, r, h; LSTM i, o, f, c. Custom activations, clip,
/// peepholes, input_forget, sequence_lens shorter than the sequence and layout 1 are reported
/// as unsupported.
enum RecurrentOperators {
  enum Cell { case rnn, gru, lstm }

  /// Sizes and attributes of one recurrent node.
  struct Shape {
    var cell: Cell
    var steps: Int, batch: Int, inputSize: Int, hidden: Int, directions: Int
    var reverseOnly: Bool
    var linearBeforeReset: Bool
    var gates: Int { cell == .rnn ? 1 : (cell == .gru ? 3 : 4) }
    var rows: Int { gates * hidden }
  }

  static func shape(_ c: OperatorContext, _ cell: Cell) throws -> Shape {
    let x = try c.input(0)
    guard x.rank == 3 else { throw ONNXError.shapeMismatch("X \(x.shape) must be [seq, batch, input]") }
    guard try c.int("layout", default: 0) == 0 else { throw ONNXError.unsupported("layout = 1") }
    guard c.node.attributes["activations"] == nil, c.node.attributes["clip"] == nil,
      try c.int("input_forget", default: 0) == 0
    else { throw ONNXError.unsupported("custom activations, clip or input_forget") }
    if cell == .lstm, c.optionalInput(7) != nil { throw ONNXError.unsupported("LSTM peepholes") }
    let direction = try c.string("direction", default: "forward")
    guard ["forward", "reverse", "bidirectional"].contains(direction) else {
      throw ONNXError.invalidModel("direction '\(direction)'")
    }
    let directions = direction == "bidirectional" ? 2 : 1
    let w = try c.input(1)
    let gates = cell == .rnn ? 1 : (cell == .gru ? 3 : 4)
    let hidden = try c.int("hidden_size", default: w.rank == 3 ? w.shape[1] / gates : 0)
    let s = Shape(
      cell: cell, steps: x.shape[0], batch: x.shape[1], inputSize: x.shape[2], hidden: hidden, directions: directions,
      reverseOnly: direction == "reverse", linearBeforeReset: try c.int("linear_before_reset", default: 0) != 0)
    guard hidden > 0, w.shape == [directions, s.rows, s.inputSize],
      try c.input(2).shape == [directions, s.rows, hidden]
    else { throw ONNXError.shapeMismatch("W \(w.shape) and R \(try c.input(2).shape) for hidden size \(hidden)") }
    if let b = c.optionalInput(3), b.shape != [directions, 2 * s.rows] {
      throw ONNXError.shapeMismatch("B \(b.shape), expected [\(directions), \(2 * s.rows)]")
    }
    if let lengths = c.optionalInput(4), try lengths.ints("sequence_lens").contains(where: { Int($0) != s.steps }) {
      throw ONNXError.unsupported("sequence_lens shorter than the sequence")
    }
    for slot in (cell == .lstm ? [5, 6] : [5]) {
      if let state = c.optionalInput(slot), state.shape != [directions, s.batch, hidden] {
        throw ONNXError.shapeMismatch("initial state \(state.shape), expected [\(directions), \(s.batch), \(hidden)]")
      }
    }
    return s
  }

  static func sigmoid(_ x: Float) -> Float { 1 / (1 + exp(-x)) }

  /// The inputs of a recurrent node as flat float arrays (absent optional inputs as zeros).
  struct Operands {
    var x: [Float], w: [Float], r: [Float], bias: [Float], initialH: [Float], initialC: [Float]

    init(_ c: OperatorContext, _ s: Shape) throws {
      x = try c.floats(0)
      w = try c.floats(1)
      r = try c.floats(2)
      bias = try c.optionalInput(3)?.floats("B") ?? [Float](repeating: 0, count: s.directions * 2 * s.rows)
      let zeros = [Float](repeating: 0, count: s.directions * s.batch * s.hidden)
      initialH = try c.optionalInput(5)?.floats("initial_h") ?? zeros
      initialC = s.cell == .lstm ? try c.optionalInput(6)?.floats("initial_c") ?? zeros : zeros
    }
  }

  /// What one step of one direction computed, kept for the reverse pass.
  struct Step {
    var time: Int
    var hPrev: [Float], cPrev: [Float]  // [batch, hidden]
    var gates: [Float]  // activated gates [batch, rows]: RNN h; GRU z, r, n; LSTM i, o, f, c̃
    var recurrent: [Float]  // GRU: H R_hᵀ + Rb_h (linear_before_reset) or r ⊙ H [batch, hidden]
    var hNew: [Float], cNew: [Float]
  }

  /// The time index of processing step k in direction d.
  static func time(_ s: Shape, direction d: Int, step k: Int) -> Int {
    (d == 1 || s.reverseOnly) ? s.steps - 1 - k : k
  }

  /// Runs every direction; returns the steps per direction in processing order.
  static func run(_ s: Shape, _ o: Operands) -> [[Step]] {
    let (n, h, rows, inputs) = (s.batch, s.hidden, s.rows, s.inputSize)
    var all: [[Step]] = []
    for d in 0..<s.directions {
      let (wo, ro, bo) = (d * rows * inputs, d * rows * h, d * 2 * rows)
      var state = Array(o.initialH[(d * n * h)..<((d + 1) * n * h)])
      var cell = Array(o.initialC[(d * n * h)..<((d + 1) * n * h)])
      var steps: [Step] = []
      for k in 0..<s.steps {
        let t = time(s, direction: d, step: k)
        var step = Step(
          time: t, hPrev: state, cPrev: cell, gates: [Float](repeating: 0, count: n * rows),
          recurrent: [Float](repeating: 0, count: n * h), hNew: state, cNew: cell)
        for b in 0..<n {
          var ax = [Float](repeating: 0, count: rows)
          var ah = [Float](repeating: 0, count: rows)
          for j in 0..<rows {
            var sx = o.bias[bo + j]
            for i in 0..<inputs { sx += o.x[(t * n + b) * inputs + i] * o.w[wo + j * inputs + i] }
            var sh = o.bias[bo + rows + j]
            for i in 0..<h { sh += state[b * h + i] * o.r[ro + j * h + i] }
            ax[j] = sx
            ah[j] = sh
          }
          let g = b * rows
          switch s.cell {
          case .rnn:
            for i in 0..<h {
              step.gates[g + i] = tanh(ax[i] + ah[i])
              step.hNew[b * h + i] = step.gates[g + i]
            }
          case .gru:
            for i in 0..<h {
              step.gates[g + i] = sigmoid(ax[i] + ah[i])
              step.gates[g + h + i] = sigmoid(ax[h + i] + ah[h + i])
            }
            for i in 0..<h {
              let reset = step.gates[g + h + i]
              var pre = ax[2 * h + i]
              if s.linearBeforeReset {
                step.recurrent[b * h + i] = ah[2 * h + i]
                pre += reset * ah[2 * h + i]
              } else {
                pre += o.bias[bo + rows + 2 * h + i]
                for j in 0..<h { pre += step.gates[g + h + j] * state[b * h + j] * o.r[ro + (2 * h + i) * h + j] }
                step.recurrent[b * h + i] = reset * state[b * h + i]
              }
              let candidate = tanh(pre)
              let z = step.gates[g + i]
              step.gates[g + 2 * h + i] = candidate
              step.hNew[b * h + i] = (1 - z) * candidate + z * state[b * h + i]
            }
          case .lstm:
            for i in 0..<h {
              let gi = sigmoid(ax[i] + ah[i])
              let go = sigmoid(ax[h + i] + ah[h + i])
              let gf = sigmoid(ax[2 * h + i] + ah[2 * h + i])
              let gc = tanh(ax[3 * h + i] + ah[3 * h + i])
              (step.gates[g + i], step.gates[g + h + i], step.gates[g + 2 * h + i], step.gates[g + 3 * h + i]) = (
                gi, go, gf, gc
              )
              step.cNew[b * h + i] = gf * cell[b * h + i] + gi * gc
              step.hNew[b * h + i] = go * tanh(step.cNew[b * h + i])
            }
          }
        }
        state = step.hNew
        cell = step.cNew
        steps.append(step)
      }
      all.append(steps)
    }
    return all
  }

  static func definition(_ cell: Cell) -> OperatorDefinition {
    OperatorDefinition(
      differentiableInputs: cell == .lstm ? [0, 1, 2, 3, 5, 6] : [0, 1, 2, 3, 5],
      forward: { c in
        let s = try shape(c, cell)
        let runs = run(s, try Operands(c, s))
        let (n, h) = (s.batch, s.hidden)
        var y = [Float](repeating: 0, count: s.steps * s.directions * n * h)
        var finalH = [Float](repeating: 0, count: s.directions * n * h)
        var finalC = finalH
        for (d, steps) in runs.enumerated() {
          for step in steps {
            for i in 0..<(n * h) { y[((step.time * s.directions + d) * n) * h + i] = step.hNew[i] }
          }
          if let last = steps.last {
            for i in 0..<(n * h) {
              finalH[d * n * h + i] = last.hNew[i]
              finalC[d * n * h + i] = last.cNew[i]
            }
          }
        }
        let stateShape = [s.directions, n, h]
        var outputs = [
          Tensor(shape: [s.steps, s.directions, n, h], floats: y), Tensor(shape: stateShape, floats: finalH),
        ]
        if cell == .lstm { outputs.append(Tensor(shape: stateShape, floats: finalC)) }
        return outputs
      },
      backward: { c, _, gradients, needs in
        let s = try shape(c, cell)
        let o = try Operands(c, s)
        let runs = run(s, o)
        let (n, h, rows, inputs) = (s.batch, s.hidden, s.rows, s.inputSize)
        let dY = try gradients[0]?.floats("gradient")
        let dYh = try gradients.count > 1 ? gradients[1]?.floats("gradient") : nil
        let dYc = try gradients.count > 2 ? gradients[2]?.floats("gradient") : nil
        var dx = [Float](repeating: 0, count: o.x.count)
        var dw = [Float](repeating: 0, count: o.w.count)
        var dr = [Float](repeating: 0, count: o.r.count)
        var db = [Float](repeating: 0, count: o.bias.count)
        var dInitH = [Float](repeating: 0, count: o.initialH.count)
        var dInitC = [Float](repeating: 0, count: o.initialC.count)
        for (d, steps) in runs.enumerated() {
          let (wo, ro, bo) = (d * rows * inputs, d * rows * h, d * 2 * rows)
          var carryH = dYh.map { Array($0[(d * n * h)..<((d + 1) * n * h)]) } ?? [Float](repeating: 0, count: n * h)
          var carryC = dYc.map { Array($0[(d * n * h)..<((d + 1) * n * h)]) } ?? [Float](repeating: 0, count: n * h)
          for step in steps.reversed() {
            var dHPrev = [Float](repeating: 0, count: n * h)
            var dCPrev = [Float](repeating: 0, count: n * h)
            for b in 0..<n {
              var dH = [Float](repeating: 0, count: h)
              for i in 0..<h {
                dH[i] = carryH[b * h + i] + (dY?[((step.time * s.directions + d) * n + b) * h + i] ?? 0)
              }
              var dAx = [Float](repeating: 0, count: rows)  // gradient of the input projections
              var dAh = [Float](repeating: 0, count: rows)  // gradient of the recurrent projections
              let g = b * rows
              switch s.cell {
              case .rnn:
                for i in 0..<h { dAx[i] = dH[i] * (1 - step.hNew[b * h + i] * step.hNew[b * h + i]) }
                dAh = dAx
              case .gru:
                var dReset = [Float](repeating: 0, count: h)
                for i in 0..<h {
                  let (z, candidate, previous) = (step.gates[g + i], step.gates[g + 2 * h + i], step.hPrev[b * h + i])
                  let dPre = dH[i] * (1 - z) * (1 - candidate * candidate)
                  dHPrev[b * h + i] += dH[i] * z
                  dAx[i] = dH[i] * (previous - candidate) * z * (1 - z)
                  dAh[i] = dAx[i]
                  dAx[2 * h + i] = dPre
                  if s.linearBeforeReset {
                    dReset[i] += dPre * step.recurrent[b * h + i]
                    dAh[2 * h + i] = dPre * step.gates[g + h + i]
                  } else {
                    db[bo + rows + 2 * h + i] += dPre
                    for j in 0..<h {
                      let weight = o.r[ro + (2 * h + i) * h + j]
                      dr[ro + (2 * h + i) * h + j] += dPre * step.recurrent[b * h + j]
                      dReset[j] += dPre * weight * step.hPrev[b * h + j]
                      dHPrev[b * h + j] += dPre * weight * step.gates[g + h + j]
                    }
                  }
                }
                for i in 0..<h {
                  let reset = step.gates[g + h + i]
                  dAx[h + i] = dReset[i] * reset * (1 - reset)
                  dAh[h + i] = dAx[h + i]
                }
              case .lstm:
                for i in 0..<h {
                  let (gi, go, gf, gc) = (
                    step.gates[g + i], step.gates[g + h + i], step.gates[g + 2 * h + i], step.gates[g + 3 * h + i]
                  )
                  let tc = tanh(step.cNew[b * h + i])
                  let dC = carryC[b * h + i] + dH[i] * go * (1 - tc * tc)
                  dCPrev[b * h + i] = dC * gf
                  dAx[i] = dC * gc * gi * (1 - gi)
                  dAx[h + i] = dH[i] * tc * go * (1 - go)
                  dAx[2 * h + i] = dC * step.cPrev[b * h + i] * gf * (1 - gf)
                  dAx[3 * h + i] = dC * gi * (1 - gc * gc)
                }
                dAh = dAx
              }
              let t = step.time
              for j in 0..<rows {
                if dAx[j] != 0 {
                  db[bo + j] += dAx[j]
                  for i in 0..<inputs {
                    dw[wo + j * inputs + i] += dAx[j] * o.x[(t * n + b) * inputs + i]
                    dx[(t * n + b) * inputs + i] += dAx[j] * o.w[wo + j * inputs + i]
                  }
                }
                if dAh[j] != 0 {
                  db[bo + rows + j] += dAh[j]
                  for i in 0..<h {
                    dr[ro + j * h + i] += dAh[j] * step.hPrev[b * h + i]
                    dHPrev[b * h + i] += dAh[j] * o.r[ro + j * h + i]
                  }
                }
              }
            }
            carryH = dHPrev
            carryC = dCPrev
          }
          for i in 0..<(n * h) {
            dInitH[d * n * h + i] = carryH[i]
            dInitC[d * n * h + i] = carryC[i]
          }
        }
        func result(_ slot: Int, _ values: [Float]) throws -> Tensor? {
          guard slot < needs.count, needs[slot], let input = c.optionalInput(slot) else { return nil }
          return Tensor(shape: input.shape, floats: values)
        }
        return [
          try result(0, dx), try result(1, dw), try result(2, dr), try result(3, db), nil, try result(5, dInitH),
          try result(6, dInitC),
        ].prefix(c.inputs.count).map { $0 }
      })
  }

  static let all: [String: OperatorDefinition] = [
    "RNN": definition(.rnn), "GRU": definition(.gru), "LSTM": definition(.lstm),
  ]
}
