/// An attribute value of a node, as decoded from `AttributeProto`.
public enum Attribute: Sendable, Equatable {
  case float(Float)
  case int(Int64)
  case string(String)
  case tensor(Tensor)
  case floats([Float])
  case ints([Int64])
  case strings([String])
  /// A kind this backend never reads (graphs, sparse tensors, type protos); kept by name so
  /// an operator that needs it can say so.
  case unsupported(String)
}

/// One node of the graph: an operator applied to named values.
public struct Node: Sendable {
  /// The node's name, or "#index" when the model leaves it empty.
  public var name: String
  public var opType: String
  public var domain: String
  /// Input value names; "" marks an omitted optional input.
  public var inputs: [String]
  /// Output value names; "" marks an omitted optional output.
  public var outputs: [String]
  public var attributes: [String: Attribute]
}

/// Static type of a graph input or output: element type code and dims (nil = symbolic).
public struct ValueInfo: Sendable {
  public var name: String
  /// ONNX `TensorProto.DataType` code; 0 when the model does not say.
  public var elementType: Int32
  /// nil when the model gives no shape; a nil entry is a symbolic or unknown dimension.
  public var shape: [Int?]?
  /// Per dimension of `shape`, the name of a symbolic dimension (`dim_param`: "sequence").
  ///
  /// nil for fixed and unnamed dimensions.
  public var symbols: [String?] = []
  /// False for sequences, maps and optionals, which this backend does not support.
  public var isTensor: Bool
}

/// A parsed ONNX graph in topological order, with its initializers.
public struct Graph: Sendable {
  /// Nodes in an order where every input is produced before it is read.
  public var nodes: [Node]
  /// Initializers in file order (the order parameters are flattened in).
  public var initializerNames: [String]
  public var initializers: [String: Tensor]
  /// Graph inputs that are not initializers: what a caller feeds.
  public var inputs: [ValueInfo]
  public var outputs: [ValueInfo]
  /// The default-domain opset the model imports.
  public var opset: Int
}
