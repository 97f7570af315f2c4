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
    var varying = inputs
    var constants = initializers
    for (node, definition) in zip(graph.nodes, definitions) {
      if node.inputs.contains(where: varying.contains) {
        varying.formUnion(node.outputs.filter { !$0.isEmpty })
      } else {
        try evaluate(node, definition, into: &constants)
      }
    }
    return constants
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
  public func gradients(
    values: [String: Tensor], seeds: [String: Tensor], rows: Int, sources: Set<String>,
    sinks: [String: ParameterSink] = [:]
  ) throws(ONNXError) -> [String: Tensor] {
    let reached = dependents(of: sources)
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
      if !definition.sinkInputs.isEmpty {
        context.sinks = node.inputs.indices.map { i in
          guard needs[i], definition.sinkInputs.contains(i), let sink = sinks[node.inputs[i]] else { return nil }
          return SinkSlot(sink: sink, accumulate: written.contains(node.inputs[i]))
        }
      }
      let outputs = node.outputs.map { values[$0] ?? Tensor.zeros([]) }
      let inputGradients: [Tensor?]
      do {
        inputGradients = try definition.reverse(context, outputs, outputGradients, needs, rows: rows)
      } catch {
        throw Self.wrap(error, node)
      }
      // The outputs' gradients are complete and consumed: dropping them keeps only the live ones.
      for name in node.outputs where !sources.contains(name) { gradients[name] = nil }
      for (i, needed) in needs.enumerated() where needed {
        let name = node.inputs[i]
        if context.sink(i) != nil {
          written.insert(name)
          continue
        }
        guard i < inputGradients.count, let gradient = inputGradients[i] else { continue }
        if let sink = sinks[name] {
          guard case .float(let v) = gradient.elements, v.count == rows * sink.count else {
            throw .inNode(
              node: node.name, op: node.opType,
              .shapeMismatch(
                "gradient of '\(name)' has shape \(gradient.shape), expected \(rows) rows of \(sink.count)"))
          }
          v.withUnsafeBufferPointer { v in
            if let source = v.baseAddress { sink.store(source, rows: rows, accumulate: written.contains(name)) }
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
    for (name, sink) in sinks where !written.contains(name) { sink.clear(rows: rows) }
    return gradients.filter { sources.contains($0.key) && sinks[$0.key] == nil }
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
    return OperatorContext(node: node, opset: graph.opset, inputs: inputs)
  }

  private static func wrap(_ error: any Error, _ node: Node) -> ONNXError {
    let inner = (error as? ONNXError) ?? .invalidModel("\(error)")
    return .inNode(node: node.name, op: node.opType, inner)
  }
}
