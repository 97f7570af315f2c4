/// Every operator the backend implements, by ONNX op type (default domain only).
public enum OperatorRegistry {
  static let operators: [String: OperatorDefinition] = {
    var all: [String: OperatorDefinition] = [:]
    for family in [
      UnaryOperators.all, BinaryOperators.all, LinearOperators.all, ConvolutionOperator.all, PoolingOperators.all,
      NormalizationOperators.all, SoftmaxOperators.all, ReductionOperators.all, ShapeOperators.all, IndexOperators.all,
      ClipOperator.all, VariadicOperators.all, TransposedConvolutionOperator.all, ResizeOperator.all,
      RecurrentOperators.all, OrderingOperators.all, FloatClassificationOperators.all,
    ] {
      all.merge(family) { first, _ in first }
    }
    return all
  }()

  /// The supported op types, sorted (for documentation and messages).
  public static var supportedOperators: [String] { operators.keys.sorted() }

  /// Op types whose reverse pass is implemented.
  public static var differentiableOperators: [String] { operators.filter { $0.value.hasReversePass }.keys.sorted() }

  /// The definition for `node` under `opset`, or an error naming the op, node and opset.
  static func definition(for node: Node, opset: Int) throws(ONNXError) -> OperatorDefinition {
    guard node.domain.isEmpty || node.domain == "ai.onnx" else {
      throw .unsupported(
        "node '\(node.name)': operator '\(node.opType)' of domain '\(node.domain)' is not supported (only the default ai.onnx domain is)"
      )
    }
    guard let definition = operators[node.opType] else {
      throw .unsupported(
        "node '\(node.name)': operator '\(node.opType)' (opset \(opset)) is not supported by the ONNX backend")
    }
    guard opset >= definition.since else {
      throw .invalidModel(
        "node '\(node.name)': operator '\(node.opType)' does not exist in opset \(opset) (it was added in opset \(definition.since))"
      )
    }
    return definition
  }
}
