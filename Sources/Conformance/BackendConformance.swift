import BackendLoader
import Foundation

/// The conformance test every backend author runs (`entk check-backend`): ABI and table checks,
/// `describe` consistency, forward determinism and batch invariance, gradients against central
/// finite differences, Jacobians against `vjp`, per-layer factors against Jacobians, embeddings,
/// error paths, and the `struct_size` rule for the structs the caller allocates.
public struct BackendConformance {
  public let library: BackendLibrary
  public let modelPath: String
  public let options: String?

  /// Relative tolerance of finite-difference checks; float32 forward passes limit it.
  public static let finiteDifferenceTolerance = 2e-2

  public init(library: BackendLibrary, modelPath: String, options: String? = nil) {
    self.library = library
    self.modelPath = modelPath
    self.options = options
  }

  /// Runs every check and returns them in order.
  ///
  /// `samples` reads inputs for the opened model's description (up to 4 are used); nil makes 4
  /// samples: seeded Gaussian values for float32 inputs, 0s and 1s for integer and bool inputs
  /// (bit k of sample + position for input k: valid token ids, type ids and mask values for text
  /// models, with two distinct tokens among the unmasked ones for one-hot factors to tell apart).
  /// Never throws: a failure to open the model or read the samples is itself a failed check.
  public func run(samples: ((ModelDescription) throws -> InputArrays)? = nil) -> [ConformanceCheck] {
    var checks: [ConformanceCheck] = [tableCheck(), nameCheck(), missingModelCheck()]
    let model: BackendModel
    do {
      model = try library.open(model: modelPath, options: options)
      let d = model.description
      checks.append(
        .init(
          name: "open-describe", outcome: .passed,
          detail:
            "input \(d.inputSummary), C = \(d.numOutputs), P = \(d.numParams), E = \(d.embeddingSize), \(d.parameterGroups.count) parameter groups"
        ))
    } catch {
      checks.append(.init(name: "open-describe", outcome: .failed, detail: "\(error)"))
      return checks
    }
    checks.append(malformedOptionsCheck())
    checks.append(parameterGroupRangeCheck(model))
    checks.append(emptyBatchCheck(model))
    checks.append(firstStructSizeCheck(model))
    if model.description.singleFloatInput == nil { checks.append(legacySlotsCheck(model)) }

    let arrays: InputArrays
    do {
      arrays = try samples?(model.description) ?? Self.defaultSamples(model.description)
      guard arrays.count >= 1 else {
        throw BackendCallError.shapeMismatch(call: "data", expected: "samples", actual: "none")
      }
    } catch {
      checks.append(.init(name: "data", outcome: .failed, detail: "\(error)"))
      return checks
    }
    let batch = arrays.batch(0..<min(4, arrays.count))
    checks.append(contentsOf: forwardChecks(model, batch))
    checks.append(vjpLinearityCheck(model, batch))
    checks.append(finiteDifferenceCheck(model, batch))
    checks.append(jacobianCheck(model, batch))
    checks.append(factorCheck(model, batch))
    if model.hasFactoredVJP { checks.append(factoredVJPCheck(model, batch)) }
    return withExtendedLifetime(arrays) { checks }
  }

  /// Four samples: seeded Gaussian float32 values, bit k of (sample + position) for integer and
  /// bool input k.
  static func defaultSamples(_ d: ModelDescription) -> InputArrays {
    var random = SeededGaussian(seed: 20_241)
    let n = 4
    let bytes = d.inputs.enumerated().map { k, input -> [UInt8] in
      let count = n * input.sampleElements
      // Bit k of (sample + position): 0s and 1s in another pattern for each input, so the unmasked
      // positions of a mask hold both token values.
      let alternating = (0..<count).map { (($0 / input.sampleElements + $0 % input.sampleElements) >> k) & 1 }
      switch input.elementType {
      case .float32: return random.vector(count).map { Float($0) }.withUnsafeBytes { [UInt8]($0) }
      case .int32: return alternating.map { Int32($0) }.withUnsafeBytes { [UInt8]($0) }
      case .int64: return alternating.map { Int64($0) }.withUnsafeBytes { [UInt8]($0) }
      case .bool: return alternating.map { UInt8($0) }
      }
    }
    return InputArrays(inputs: d.inputs, count: n, bytes: bytes)
  }

  private func tableCheck() -> ConformanceCheck {
    let (major, minor) = library.abiVersion
    let optional = library.capabilities.isEmpty ? "none" : library.capabilities.joined(separator: ", ")
    return .init(
      name: "abi-table", outcome: .passed,
      detail: "ABI \(major).\(minor), table \(library.tableSize) bytes, optional calls: \(optional)")
  }

  private func nameCheck() -> ConformanceCheck {
    let expected = BackendLocator.libraryName(for: library.name)
    let file = library.url.lastPathComponent
    if library.name.isEmpty || library.version.isEmpty || library.summary.isEmpty {
      return .init(name: "metadata", outcome: .failed, detail: "name, version and description must be non-empty")
    }
    if file != expected {
      return .init(
        name: "metadata", outcome: .failed,
        detail: "backend calls itself '\(library.name)' but the file is \(file), expected \(expected)")
    }
    return .init(name: "metadata", outcome: .passed, detail: "\(library.name) \(library.version)")
  }

  private func missingModelCheck() -> ConformanceCheck {
    let missing = "/nonexistent/entk-conformance/\(UUID().uuidString)/model"
    do {
      _ = try library.open(model: missing)
      return .init(name: "error-missing-model", outcome: .failed, detail: "open(\(missing)) returned OK")
    } catch BackendCallError.failed(_, _, let status, let message) {
      return .init(name: "error-missing-model", outcome: .passed, detail: "\(status): \(message)")
    } catch {
      return .init(name: "error-missing-model", outcome: .failed, detail: "\(error)")
    }
  }

  private func malformedOptionsCheck() -> ConformanceCheck {
    do {
      _ = try library.open(model: modelPath, options: "{not json")
      return .init(
        name: "error-malformed-options", outcome: .failed, detail: "open with options '{not json' returned OK")
    } catch BackendCallError.failed(_, _, let status, let message) where status == .invalidArgument {
      return .init(name: "error-malformed-options", outcome: .passed, detail: message)
    } catch {
      return .init(
        name: "error-malformed-options", outcome: .failed, detail: "expected an invalid-argument status, got: \(error)")
    }
  }

  private func parameterGroupRangeCheck(_ model: BackendModel) -> ConformanceCheck {
    let count = model.description.parameterGroups.count
    for index in [count, -1] {
      do {
        _ = try model.queryParameterGroup(index)
        return .init(
          name: "error-param-group-range", outcome: .failed,
          detail: "param_group(\(index)) returned OK with \(count) groups")
      } catch BackendCallError.failed(_, _, let status, _) where status == .invalidArgument {
        continue
      } catch {
        return .init(
          name: "error-param-group-range", outcome: .failed,
          detail: "param_group(\(index)): expected invalid argument, got: \(error)")
      }
    }
    return .init(name: "error-param-group-range", outcome: .passed, detail: "indices -1 and \(count) rejected")
  }

  private func emptyBatchCheck(_ model: BackendModel) -> ConformanceCheck {
    let problems = model.probeEmptyBatch()
    return problems.isEmpty
      ? .init(name: "error-empty-batch", outcome: .passed, detail: "forward and vjp reject n = 0")
      : .init(name: "error-empty-batch", outcome: .failed, detail: problems.joined(separator: "; "))
  }

  /// The struct_size rule: a host built against ABI 1.0 (1.1 for `group_factor`) passes shorter
  /// structs than this one, and the backend must serve them without writing past them.
  private func firstStructSizeCheck(_ model: BackendModel) -> ConformanceCheck {
    let problems = model.probeFirstStructSizes()
    return problems.isEmpty
      ? .init(
        name: "struct-size-first-version", outcome: .passed,
        detail:
          "structs served at their first ABI version's struct_size and refused below it, nothing written past them")
      : .init(name: "struct-size-first-version", outcome: .failed, detail: problems.joined(separator: "; "))
  }

  /// A model of several or typed inputs must answer the ABI 1.0 slots, which pass one float
  /// buffer, with INVALID_ARGUMENT (an older host would otherwise feed it garbage).
  private func legacySlotsCheck(_ model: BackendModel) -> ConformanceCheck {
    let name = "inputs-legacy-slots"
    let d = model.description
    let problems = model.probeLegacySlots()
    return problems.isEmpty
      ? .init(
        name: name, outcome: .passed,
        detail: "forward, vjp, jacobian and factored_jacobian refuse a float buffer for \(d.inputSummary)")
      : .init(name: name, outcome: .failed, detail: problems.joined(separator: "; "))
  }

  private func forwardChecks(_ model: BackendModel, _ batch: InputBatch) -> [ConformanceCheck] {
    let d = model.description
    let n = batch.count
    var checks: [ConformanceCheck] = []
    do {
      let first = try model.forward(batch).logits
      let second = try model.forward(batch).logits
      if let bad = first.firstIndex(where: { !$0.isFinite }) {
        checks.append(.init(name: "forward-finite", outcome: .failed, detail: "logit \(bad) is \(first[bad])"))
      } else {
        checks.append(
          .init(name: "forward-finite", outcome: .passed, detail: "\(n) samples × \(d.numOutputs) logits finite"))
      }
      checks.append(
        first == second
          ? .init(name: "forward-deterministic", outcome: .passed, detail: "two calls bit-identical")
          : .init(name: "forward-deterministic", outcome: .failed, detail: "two calls on the same batch differ"))

      var worst = 0.0
      let scale = 1 + (first.map { Double(abs($0)) }.max() ?? 0)
      for i in 0..<n {
        let single = try model.forward(batch.samples(i..<(i + 1))).logits
        for c in 0..<d.numOutputs { worst = max(worst, Double(abs(single[c] - first[i * d.numOutputs + c]))) }
      }
      checks.append(
        worst <= 1e-5 * scale
          ? .init(
            name: "forward-batch-invariance", outcome: .passed,
            detail: String(format: "batch vs single samples: max |Δ| = %.2e", worst))
          : .init(
            name: "forward-batch-invariance", outcome: .failed,
            detail: String(
              format: "a sample's logits depend on its batch: max |Δ| = %.2e (tolerance %.1e)", worst, 1e-5 * scale)))

      if d.embeddingSize > 0 {
        let (logits, embedding) = try model.forward(batch, withEmbedding: true)
        if logits != first {
          checks.append(
            .init(name: "forward-embedding", outcome: .failed, detail: "asking for the embedding changed the logits"))
        } else if let embedding, let bad = embedding.firstIndex(where: { !$0.isFinite }) {
          checks.append(
            .init(name: "forward-embedding", outcome: .failed, detail: "embedding value \(bad) is not finite"))
        } else {
          checks.append(
            .init(
              name: "forward-embedding", outcome: .passed,
              detail: "\(n) × \(d.embeddingSize) embedding, logits unchanged"))
        }
      } else {
        checks.append(.init(name: "forward-embedding", outcome: .skipped, detail: "model has no embedding (E = 0)"))
      }
    } catch {
      checks.append(.init(name: "forward", outcome: .failed, detail: "\(error)"))
    }
    return checks
  }

  private func vjpLinearityCheck(_ model: BackendModel, _ batch: InputBatch) -> ConformanceCheck {
    let (d, n) = (model.description, batch.count)
    var random = SeededGaussian(seed: 7)
    let u1 = random.vector(n * d.numOutputs).map { Float($0) }
    let u2 = random.vector(n * d.numOutputs).map { Float($0) }
    do {
      let g1 = try model.vjp(batch, cotangents: u1)
      let g2 = try model.vjp(batch, cotangents: u2)
      let combined = try model.vjp(batch, cotangents: zip(u1, u2).map { $0 + 2 * $1 })
      var worst = 0.0
      var scale = 1e-12
      for k in 0..<combined.count {
        let expected = Double(g1[k]) + 2 * Double(g2[k])
        worst = max(worst, abs(Double(combined[k]) - expected))
        scale = max(scale, abs(expected))
      }
      if let bad = combined.firstIndex(where: { !$0.isFinite }) {
        return .init(name: "vjp-linearity", outcome: .failed, detail: "gradient \(bad) is not finite")
      }
      return worst <= 1e-4 * scale
        ? .init(
          name: "vjp-linearity", outcome: .passed,
          detail: String(format: "vjp(u1 + 2 u2) = vjp(u1) + 2 vjp(u2): max |Δ| = %.2e", worst))
        : .init(
          name: "vjp-linearity", outcome: .failed,
          detail: String(format: "vjp is not linear in the cotangents: max |Δ| = %.2e of %.2e", worst, scale))
    } catch {
      return .init(name: "vjp-linearity", outcome: .failed, detail: "\(error)")
    }
  }

  /// Directional central differences: for random cotangents u and directions v (random, and one
  /// coordinate per parameter group), (u·f(θ+hv) − u·f(θ−hv)) / 2h against vjp(u)·v.
  private func finiteDifferenceCheck(_ model: BackendModel, _ batch: InputBatch) -> ConformanceCheck {
    let n = batch.count
    let name = "vjp-finite-differences"
    guard library.capabilities.contains("get_params"), library.capabilities.contains("set_params") else {
      return .init(
        name: name, outcome: .skipped, detail: "backend lacks get_params/set_params, so parameters cannot be perturbed")
    }
    let d = model.description
    var random = SeededGaussian(seed: 99)
    do {
      let theta = try model.parameters()
      let reference = try model.forward(batch).logits
      defer { try? model.setParameters(theta) }
      let u = random.vector(n * d.numOutputs)
      let gradients = try model.vjp(batch, cotangents: u.map { Float($0) })
      var directions: [(String, [Double])] = (0..<2).map { k in
        var v = random.vector(d.numParams)
        let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
        v = v.map { $0 / norm }
        return ("random direction \(k + 1)", v)
      }
      for group in d.parameterGroups {
        var v = [Double](repeating: 0, count: d.numParams)
        let index = group.offset + random.index(below: group.count)
        v[index] = 1
        directions.append(("\(group.name)[\(index - group.offset)]", v))
      }
      let thetaScale = max(1, theta.map { Double(abs($0)) }.max() ?? 1)
      // float32 rounding of u·f, the objective whose difference quotient is taken.
      let objectiveRounding = 4 * Double(Float.ulpOfOne) * zip(reference, u).reduce(0) { $0 + abs(Double($1.0) * $1.1) }
      var worstRatio = 0.0
      var worstText = ""
      for (label, v) in directions {
        var analytic = 0.0
        for i in 0..<n {
          for p in 0..<d.numParams where v[p] != 0 { analytic += Double(gradients[i * d.numParams + p]) * v[p] }
        }
        // A step that crosses a kink (ReLU, max-pool) spoils the quotient; a wrong gradient is
        // wrong at every step, so the direction passes if any of three steps agrees.
        var best: (ratio: Double, numeric: Double) = (.infinity, 0)
        for h in [1e-3, 2.5e-4, 6.25e-5].map({ $0 * thetaScale }) {
          func objective(_ sign: Double) throws -> Double {
            try model.setParameters(zip(theta, v).map { Float(Double($0) + sign * h * $1) })
            let logits = try model.forward(batch).logits
            return zip(logits, u).reduce(0) { $0 + Double($1.0) * $1.1 }
          }
          let numeric = (try objective(1) - objective(-1)) / (2 * h)
          let allowed = Self.finiteDifferenceTolerance * max(abs(numeric), abs(analytic)) + objectiveRounding / h + 1e-6
          let ratio = abs(numeric - analytic) / allowed
          if ratio < best.ratio { best = (ratio, numeric) }
          if ratio <= 1 { break }
        }
        if best.ratio > worstRatio {
          worstRatio = best.ratio
          worstText = String(format: "%@: finite difference %.6g, vjp %.6g", label, best.numeric, analytic)
        }
      }
      try model.setParameters(theta)
      guard try model.forward(batch).logits == reference else {
        return .init(name: name, outcome: .failed, detail: "restoring the parameters did not restore the logits")
      }
      return worstRatio <= 1
        ? .init(name: name, outcome: .passed, detail: "\(directions.count) directions agree; worst \(worstText)")
        : .init(name: name, outcome: .failed, detail: "gradient disagrees with finite differences: \(worstText)")
    } catch {
      return .init(name: name, outcome: .failed, detail: "\(error)")
    }
  }

  private func jacobianCheck(_ model: BackendModel, _ batch: InputBatch) -> ConformanceCheck {
    let n = batch.count
    let name = "jacobian-vs-vjp"
    guard model.hasNativeJacobian else {
      return .init(name: name, outcome: .skipped, detail: "no jacobian call; the host uses C vjp calls")
    }
    let d = model.description
    do {
      let jacobian = try model.jacobian(batch)
      var worst = 0.0
      var scale = 1e-12
      for c in 0..<d.numOutputs {
        var oneHot = [Float](repeating: 0, count: n * d.numOutputs)
        for i in 0..<n { oneHot[i * d.numOutputs + c] = 1 }
        let rows = try model.vjp(batch, cotangents: oneHot)
        for i in 0..<n {
          for p in 0..<d.numParams {
            let a = Double(jacobian[(i * d.numOutputs + c) * d.numParams + p])
            let b = Double(rows[i * d.numParams + p])
            worst = max(worst, abs(a - b))
            scale = max(scale, abs(b))
          }
        }
      }
      return worst <= 1e-5 * scale
        ? .init(
          name: name, outcome: .passed,
          detail: String(format: "jacobian equals one-hot vjp rows: max |Δ| = %.2e", worst))
        : .init(
          name: name, outcome: .failed,
          detail: String(format: "jacobian differs from one-hot vjp rows: max |Δ| = %.2e of %.2e", worst, scale))
    } catch {
      return .init(name: name, outcome: .failed, detail: "\(error)")
    }
  }

  /// `factored_vjp_inputs` against `vjp` for random cotangents (run when the backend has it):
  /// plain columns equal, and each factored group's products between samples equal those of the
  /// vjp rows over its columns.
  private func factoredVJPCheck(_ model: BackendModel, _ batch: InputBatch) -> ConformanceCheck {
    let name = "factored-vjp-vs-vjp"
    guard let full = model.factorLayout else {
      return .init(name: name, outcome: .failed, detail: "factored_vjp_inputs without a factor layout")
    }
    let layout = full.collapsingClasses()
    let (d, n, s) = (model.description, batch.count, layout.rowLength)
    var random = SeededGaussian(seed: 31)
    let u = random.vector(n * d.numOutputs).map { Float($0) }
    do {
      let gradients = try model.vjp(batch, cotangents: u).map(Double.init)
      var rows = [Float](repeating: .nan, count: n * s)
      try u.withUnsafeBufferPointer { cotangents in
        try rows.withUnsafeMutableBufferPointer { try model.factoredVJP(batch, cotangents: cotangents, rows: $0) }
      }
      let values = rows.map(Double.init)
      func dot(_ x: [Double], _ a: Int, _ b: Int, _ count: Int) -> Double {
        (0..<count).reduce(0.0) { $0 + x[a + $1] * x[b + $1] }
      }
      var (worst, scale) = (0.0, 1e-12)
      for (group, segment) in zip(d.parameterGroups, layout.segments) {
        for i in 0..<n {
          for j in 0..<n {
            let (gi, gj) = (i * d.numParams + group.offset, j * d.numParams + group.offset)
            let reference = dot(gradients, gi, gj, group.count)
            let product: Double
            switch segment {
            case .plain(let offset, let count):
              product = (0..<count).reduce(0.0) { $0 + values[i * s + offset + $1] * gradients[gj + $1] }
            case .factored(let input, let deltas):
              product =
                dot(values, i * s + input.lowerBound, j * s + input.lowerBound, input.count)
                * dot(values, i * s + deltas.lowerBound, j * s + deltas.lowerBound, deltas.count)
            case .summed(let summed):
              product = summed.product({ values[i * s + $0] }, classX: 0, { values[j * s + $0] }, classY: 0)
            }
            worst = max(worst, abs(product - reference))
            scale = max(scale, (dot(gradients, gi, gi, group.count) * dot(gradients, gj, gj, group.count)).squareRoot())
          }
        }
      }
      let detail = String(
        format: "%d floats per sample instead of P = %d; max |Δ| = %.2e of %.2e", s, d.numParams, worst, scale)
      return worst <= 1e-5 * scale
        ? .init(name: name, outcome: .passed, detail: detail)
        : .init(name: name, outcome: .failed, detail: "factored vjp rows disagree with vjp: " + detail)
    } catch {
      return .init(name: name, outcome: .failed, detail: "\(error)")
    }
  }

  /// Factored rows against `jacobian`:  /// Factored rows against `jacobian`: plain columns equal, and for each factored group every
  /// product g_c(x_i)·g_c'(x_j) over the group's parameters equals (a_i·a_j)(Δ_ic·Δ_jc') — all the
  /// kernels need, and what holds whatever the group's permutation π.
  private func factorCheck(_ model: BackendModel, _ batch: InputBatch) -> ConformanceCheck {
    let n = batch.count
    let name = "factors-vs-jacobian"
    guard let layout = model.factorLayout else {
      return .init(name: name, outcome: .skipped, detail: "no factored_jacobian; trntk, layers and entk use Jacobians")
    }
    let d = model.description
    let (c, p, s) = (d.numOutputs, d.numParams, layout.rowLength)
    do {
      let jacobian = try model.jacobian(batch).map(Double.init)
      let rows = try model.factoredJacobian(batch).map(Double.init)
      var worst = 0.0
      var scale = 1e-12
      func compare(_ factored: Double, _ reference: Double, magnitude: Double) {
        worst = max(worst, abs(factored - reference))
        scale = max(scale, magnitude)
      }
      func dot(_ values: [Double], _ x: Int, _ y: Int, _ count: Int) -> Double {
        (0..<count).reduce(0.0) { $0 + values[x + $1] * values[y + $1] }
      }
      // Every g_c(x_i)·g_c'(x_j) over the group's columns against `product(i, j, c, c')`.
      func compareProducts(_ group: ParameterGroup, _ product: (Int, Int, Int, Int) -> Double) {
        for (i, j) in (0..<n).flatMap({ i in (0..<n).map { (i, $0) } }) {
          for (k, l) in (0..<c).flatMap({ k in (0..<c).map { (k, $0) } }) {
            let rowI = (i * c + k) * p + group.offset
            let rowJ = (j * c + l) * p + group.offset
            let magnitude = (dot(jacobian, rowI, rowI, group.count) * dot(jacobian, rowJ, rowJ, group.count))
              .squareRoot()
            compare(product(i, j, k, l), dot(jacobian, rowI, rowJ, group.count), magnitude: magnitude)
          }
        }
      }
      for (group, segment) in zip(d.parameterGroups, layout.segments) {
        switch segment {
        case .plain(let offset, let count):
          for i in 0..<n {
            for k in 0..<c {
              for q in 0..<count {
                let reference = jacobian[(i * c + k) * p + group.offset + q]
                compare(rows[i * s + k * layout.plainCount + offset + q], reference, magnitude: abs(reference))
              }
            }
          }
        case .factored(let input, let deltas):
          let width = deltas.count / c
          compareProducts(group) { i, j, k, l in
            dot(rows, i * s + input.lowerBound, j * s + input.lowerBound, input.count)
              * dot(rows, i * s + deltas.lowerBound + k * width, j * s + deltas.lowerBound + l * width, width)
          }
        case .summed(let summed):
          compareProducts(group) { i, j, k, l in
            summed.product({ rows[i * s + $0] }, classX: k, { rows[j * s + $0] }, classY: l)
          }
        }
      }
      let factored = layout.segments.filter { if case .plain = $0 { false } else { true } }.count
      let detail = String(
        format: "%d of %d groups factored, %d floats per sample instead of %d; max |Δ| = %.2e of %.2e", factored,
        layout.segments.count, s, c * p, worst, scale)
      return worst <= 1e-5 * scale
        ? .init(name: name, outcome: .passed, detail: detail)
        : .init(name: name, outcome: .failed, detail: "factored rows disagree with jacobian: " + detail)
    } catch {
      return .init(name: name, outcome: .failed, detail: "\(error)")
    }
  }
}
