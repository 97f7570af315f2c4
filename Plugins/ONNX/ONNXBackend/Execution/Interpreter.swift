/// Runs a graph forwards (keeping every intermediate value) and in reverse mode from
/// gradients seeded on some values back to chosen source values.
public struct Interpreter: Sendable {
  public let graph: Graph
  /// The operator of each node, resolved once so unsupported ops fail at construction.
  let definitions: [OperatorDefinition]

  /// Resolves every node's operator.
  ///
  /// Throws `.unsupported` naming the op, node and opset.
  public init(graph: Graph) throws(ONNXError) {
    self.graph = graph
    var definitions: [OperatorDefinition] = []
    for node in graph.nodes {
      definitions.append(try OperatorRegistry.definition(for: node, opset: graph.opset))
    }
    self.definitions = definitions
  }

  /// Evaluates every node whose outputs `values` does not already hold.
  ///
  /// `values` holds the initializers (or their replacements) and the graph inputs, and may hold
  /// the outputs of nodes that do not depend on the inputs (`constantValues`); the result adds
  /// every other node output.
  public func run(_ values: [String: Tensor]) throws(ONNXError) -> [String: Tensor] {
    var values = values
    for (node, definition) in zip(graph.nodes, definitions)
    where !node.outputs.allSatisfy({ $0.isEmpty || values[$0] != nil }) {
      try evaluate(node, definition, into: &values)
    }
    return values
  }

  /// The initializers and the outputs of every node that does not depend on `inputs`.
  ///
  /// Dependence counts every input slot. The result holds weights, weights rearranged (a
  /// Transpose of a bias-free Linear's weight) and constants; a forward pass that starts from it
  /// skips those nodes.
  public func constantValues(_ initializers: [String: Tensor], inputs: Set<String>) throws(ONNXError) -> [String:
    Tensor]
  {
    let varying = varyingValues(inputs: inputs)
    var constants = initializers
    for (node, definition) in zip(graph.nodes, definitions) {
      if !node.inputs.contains(where: varying.contains) {
        try evaluate(node, definition, into: &constants)
      } else if let prepare = definition.prepare, let key = Self.preparedKey(node) {
        let inputs = node.inputs.map { varying.contains($0) ? nil : constants[$0] }
        do {
          constants[key] = try prepare(OperatorContext(node: node, opset: graph.opset, inputs: inputs))
        } catch {
          throw Self.wrap(error, node)
        }
      }
    }
    return constants
  }

  /// Where `constantValues` keeps what a node's `prepare` made: a name no ONNX value has (a NUL
  /// byte) after the node's first output, which is unique in the graph.
  private static func preparedKey(_ node: Node) -> String? {
    node.outputs.first.map { "\($0)\u{0}prepared" }
  }

  /// `inputs` and every value that depends on them, through any input slot.
  public func varyingValues(inputs: Set<String>) -> Set<String> {
    var varying = inputs
    for node in graph.nodes where node.inputs.contains(where: varying.contains) {
      varying.formUnion(node.outputs.filter { !$0.isEmpty })
    }
    return varying
  }

  /// Runs `node` forwards on `values` and adds its outputs to them.
  private func evaluate(_ node: Node, _ definition: OperatorDefinition, into values: inout [String: Tensor])
    throws(ONNXError)
  {
    let context = try self.context(node, values)
    let outputs: [Tensor]
    do {
      outputs = try definition.forward(context)
    } catch {
      throw Self.wrap(error, node)
    }
    for (i, name) in node.outputs.enumerated() where !name.isEmpty {
      guard i < outputs.count else {
        throw .inNode(
          node: node.name, op: node.opType, .unsupported("output \(i) ('\(name)') is not computed by this backend"))
      }
      values[name] = outputs[i]
    }
  }

  /// The values that depend, through differentiable inputs, on `sources`.
  public func dependents(of sources: Set<String>) -> Set<String> {
    var reached = sources
    for (node, definition) in zip(graph.nodes, definitions) {
      let touched = node.inputs.indices.contains { definition.differentiates($0) && reached.contains(node.inputs[$0]) }
      if touched { reached.formUnion(node.outputs.filter { !$0.isEmpty }) }
    }
    return reached
  }

  /// Nodes on a differentiable path from `sources` whose operator has no reverse pass.
  func nodesWithoutReversePass(from sources: Set<String>) -> [Node] {
    let reached = dependents(of: sources)
    return zip(graph.nodes, definitions).compactMap { node, definition in
      let touched = node.inputs.indices.contains { definition.differentiates($0) && reached.contains(node.inputs[$0]) }
      return touched && !definition.hasReversePass ? node : nil
    }
  }

  /// Reverse mode for `rows` cotangents at once: given forward `values` and output gradients
  /// `seeds` stacked along a leading axis ([rows] + value shape), returns the stacked gradient
  /// ([rows] + value shape) of every value in `sources` that the seeds reach (absent = zero).
  ///
  /// Sources with a `sinks` entry (initializers: values no node produces) are written to their
  /// sink instead (zero where no seed reaches them) and left out of the result.
  ///
  /// Row r is exactly the reverse pass seeded with row r alone; one pass carries all rows so
  /// that the C reverse passes of a Jacobian share each operator's gradient-independent work.
  ///
  /// With `batch`, the values hold several samples and each sample's parameter gradients stay
  /// apart (`SampleBatch`): a node that computes with the samples and with a weight runs its
  /// reverse pass once over the batch for the samples' values and once per sample for the
  /// weight, into sample b's sink rows (`ParameterSink.sample`).
  public func gradients(
    values: [String: Tensor], seeds: [String: Tensor], rows: Int, sources: Set<String>,
    sinks: [String: ParameterSink] = [:], batch: SampleBatch? = nil
  ) throws(ONNXError) -> [String: Tensor] {
    let reached = dependents(of: sources)
    let batch = batch.flatMap { $0.samples > 1 ? $0 : nil }
    let samples = batch?.samples ?? 1
    var gradients = seeds
    var written = Set<String>()
    for (node, definition) in zip(graph.nodes, definitions).reversed() {
      let outputGradients = node.outputs.map { $0.isEmpty ? nil : gradients[$0] }
      guard outputGradients.contains(where: { $0 != nil }) else { continue }
      let needs = node.inputs.indices.map { i in
        !node.inputs[i].isEmpty && reached.contains(node.inputs[i]) && definition.differentiates(i)
      }
      guard needs.contains(true) else { continue }
      guard definition.hasReversePass else {
        throw .inNode(node: node.name, op: node.opType, .unsupported("operator '\(node.opType)' has no reverse pass"))
      }
      var context = try self.context(node, values)
      let outputs = node.outputs.map { values[$0] ?? Tensor.zeros([]) }
      let ofSamples = batch.map { batch in node.outputs.contains(where: batch.values.contains) } ?? false
      // A node of the samples that computes with weights too: the weights' gradients per sample.
      let weights = needs.indices.map { i in ofSamples && needs[i] && batch?.values.contains(node.inputs[i]) == false }
      var inputGradients: [Tensor?] = []
      var sunk = Array(repeating: false, count: node.inputs.count)
      do {
        if weights.contains(true), let batch,
          let together = try definition.batchedWeightsBackward?(
            context, outputs, outputGradients, needs, weights, rows, batch.samples)
        {
          inputGradients = together  // the weights' gradients per sample from one pass
        } else if weights.contains(true), let batch {
          let shared = needs.indices.map { needs[$0] && !weights[$0] }
          if shared.contains(true) {
            inputGradients = try definition.reverse(context, outputs, outputGradients, shared, rows: rows)
          }
          inputGradients += Array(repeating: nil, count: max(0, node.inputs.count - inputGradients.count))
          let own = try reverseEachSample(
            node, definition, context, outputs, outputGradients, needs: weights, rows: rows, batch: batch,
            sinks: sinks, written: written)
          for i in weights.indices where weights[i] {
            if own.sunk[i] { sunk[i] = true } else { inputGradients[i] = own.gradients[i] }
          }
        } else {
          // Sinks take one sample's rows; a batch's weight nodes return tensors instead.
          if !definition.sinkInputs.isEmpty && batch == nil {
            context.sinks = slots(node, definition, needs, sinks, written) { $0 }
          }
          // A node of the weights alone (a Transpose of a weight) carries every sample's rows.
          inputGradients = try definition.reverse(
            context, outputs, outputGradients, needs, rows: ofSamples ? rows : samples * rows)
          for i in needs.indices where context.sink(i) != nil { sunk[i] = true }
        }
      } catch {
        throw Self.wrap(error, node)
      }
      // The outputs' gradients are complete and consumed: dropping them keeps only the live ones.
      for name in node.outputs where !sources.contains(name) { gradients[name] = nil }
      for (i, needed) in needs.enumerated() where needed {
        let name = node.inputs[i]
        if sunk[i] {
          written.insert(name)
          continue
        }
        guard i < inputGradients.count, let gradient = inputGradients[i] else { continue }
        if let sink = sinks[name] {
          guard case .float(let v) = gradient.elements, v.count == samples * rows * sink.count else {
            throw .inNode(
              node: node.name, op: node.opType,
              .shapeMismatch(
                "gradient of '\(name)' has shape \(gradient.shape), expected \(samples * rows) rows of \(sink.count)"))
          }
          v.withUnsafeBufferPointer { v in
            guard let source = v.baseAddress else { return }
            for b in 0..<samples {
              sink.sample(b).store(source + b * rows * sink.count, rows: rows, accumulate: written.contains(name))
            }
          }
          written.insert(name)
        } else if let existing = gradients[name] {
          guard existing.shape == gradient.shape, case .float(let a) = existing.elements,
            case .float(let b) = gradient.elements
          else {
            throw .inNode(
              node: node.name, op: node.opType,
              .shapeMismatch("gradient of '\(name)' has shape \(gradient.shape), expected \(existing.shape)"))
          }
          var sum = a
          for j in 0..<sum.count { sum[j] += b[j] }
          gradients[name] = Tensor(shape: existing.shape, floats: sum)
        } else {
          gradients[name] = gradient
        }
      }
    }
    for (name, sink) in sinks where !written.contains(name) {
      for b in 0..<samples { sink.sample(b).clear(rows: rows) }
    }
    return gradients.filter { sources.contains($0.key) && sinks[$0.key] == nil }
  }

  /// The sink slots of `node`'s needed sink inputs, each sink passed through `pick`.
  private func slots(
    _ node: Node, _ definition: OperatorDefinition, _ needs: [Bool], _ sinks: [String: ParameterSink],
    _ written: Set<String>, _ pick: (ParameterSink) -> ParameterSink
  ) -> [SinkSlot?] {
    node.inputs.indices.map { i in
      guard needs[i], definition.sinkInputs.contains(i), let sink = sinks[node.inputs[i]] else { return nil }
      return SinkSlot(sink: pick(sink), accumulate: written.contains(node.inputs[i]))
    }
  }

  /// The reverse pass of `node` for its weight inputs `needs`, one sample at a time.
  ///
  /// The node's sample values and output gradients are cut to sample b, the rest stays whole.
  /// Returns per input the gradients stacked sample-major ([samples · rows] + weight shape), or
  /// whether the node wrote them into their sinks instead.
  private func reverseEachSample(
    _ node: Node, _ definition: OperatorDefinition, _ context: OperatorContext, _ outputs: [Tensor],
    _ outputGradients: [Tensor?], needs: [Bool], rows: Int, batch: SampleBatch, sinks: [String: ParameterSink],
    written: Set<String>
  ) throws -> (gradients: [Tensor?], sunk: [Bool]) {
    let samples = batch.samples
    var stacked: [[Float]] = Array(repeating: [], count: node.inputs.count)
    var shapes: [[Int]] = Array(repeating: [], count: node.inputs.count)
    var sunk = Array(repeating: false, count: node.inputs.count)
    for b in 0..<samples {
      var inputs: [Tensor?] = []
      for (name, input) in zip(node.inputs, context.inputs) {
        if let input, batch.values.contains(name) {
          inputs.append(try input.sample(b, of: samples))
        } else {
          inputs.append(input)
        }
      }
      var own = OperatorContext(node: node, opset: context.opset, inputs: inputs)
      own.prepared = context.prepared
      if !definition.sinkInputs.isEmpty {
        own.sinks = slots(node, definition, needs, sinks, written) { $0.sample(b) }
      }
      var ownOutputs: [Tensor] = []
      for (name, output) in zip(node.outputs, outputs) {
        ownOutputs.append(batch.values.contains(name) ? try output.sample(b, of: samples) : output)
      }
      var ownGradients: [Tensor?] = []
      for gradient in outputGradients {
        ownGradients.append(try gradient?.stackedSample(b, of: samples, rows: rows))
      }
      let result = try definition.reverse(own, ownOutputs, ownGradients, needs, rows: rows)
      for i in needs.indices where needs[i] {
        if own.sink(i) != nil {
          sunk[i] = true
          continue
        }
        guard i < result.count, let gradient = result[i], case .float(let v) = gradient.elements else { continue }
        if stacked[i].isEmpty {
          stacked[i].reserveCapacity(samples * v.count)
          shapes[i] = Array(gradient.shape.dropFirst())
        }
        stacked[i] += v
      }
    }
    let gradients = needs.indices.map { i -> Tensor? in
      stacked[i].isEmpty ? nil : Tensor(shape: [samples * rows] + shapes[i], floats: stacked[i])
    }
    return (gradients, sunk)
  }

  private func context(_ node: Node, _ values: [String: Tensor]) throws(ONNXError) -> OperatorContext {
    var inputs: [Tensor?] = []
    for name in node.inputs {
      if name.isEmpty {
        inputs.append(nil)
      } else if let value = values[name] {
        inputs.append(value)
      } else {
        throw .inNode(node: node.name, op: node.opType, .invalidModel("input '\(name)' has no value"))
      }
    }
    var context = OperatorContext(node: node, opset: graph.opset, inputs: inputs)
    context.prepared = Self.preparedKey(node).flatMap { values[$0] }
    return context
  }

  private static func wrap(_ error: any Error, _ node: Node) -> ONNXError {
    let inner = (error as? ONNXError) ?? .invalidModel("\(error)")
    return .inNode(node: node.name, op: node.opType, inner)
  }
}
