import COnnxProto
import Foundation

/// Reads an `.onnx` file with protobuf-c and turns it into a validated `Graph`: IR version,
/// opset, initializers (inline or external), nodes in topological order.
public enum ModelLoader {
  /// Oldest IR version accepted.
  public static let minimumIRVersion: Int64 = 3
  /// Opset 6 is accepted too: PyTorch's older exports use it, and its one difference that
  /// matters here, broadcasting by attribute, is handled by the element-wise operators.
  public static let minimumOpset = 6

  /// Loads the model at `path`: an `.onnx` file, or a folder holding `model.onnx` or exactly
  /// one `.onnx` file.
  public static func load(path: String) throws(ONNXError) -> Graph {
    let file = try modelFile(path)
    // Mapped, not read: the file's pages come from the page cache, and a model of hundreds of
    // megabytes is not copied into fresh memory twice before protobuf-c copies it once more.
    guard let data = try? Data(contentsOf: URL(fileURLWithPath: file), options: .alwaysMapped) else {
      throw .notFound("\(file): cannot read the file")
    }
    return try data.withUnsafeBytes { bytes in
      Result { () throws(ONNXError) in try parse(bytes: bytes, path: file) }
    }.get()
  }

  /// The model file `path` names: itself, or the model in the folder it names.
  static func modelFile(_ path: String) throws(ONNXError) -> String {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
      throw .notFound("\(path): no such file")
    }
    guard isDirectory.boolValue else { return path }
    let folder = URL(fileURLWithPath: path)
    let candidates = ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).filter {
      $0.hasSuffix(".onnx")
    }
    if candidates.contains("model.onnx") { return folder.appendingPathComponent("model.onnx").path }
    guard candidates.count == 1, let only = candidates.first else {
      throw .notFound(
        "\(path) is a folder with \(candidates.count) .onnx files \(candidates.sorted()); give the model file")
    }
    return folder.appendingPathComponent(only).path
  }

  /// Parses model bytes; `path` names the file in messages and anchors external data.
  public static func parse(bytes: [UInt8], path: String, detachingWeights: Bool = true) throws(ONNXError) -> Graph {
    try bytes.withUnsafeBytes { bytes in
      Result { () throws(ONNXError) in try parse(bytes: bytes, path: path, detachingWeights: detachingWeights) }
    }.get()
  }

  /// Parses model bytes that stay valid during the call.
  ///
  /// The initializers' `raw_data` is read from `bytes` itself (`DetachedWeights`) unless
  /// `detachingWeights` is false or the framing is unexpected; both ways give the same graph.
  static func parse(bytes: UnsafeRawBufferPointer, path: String, detachingWeights: Bool = true) throws(ONNXError)
    -> Graph
  {
    guard let base = bytes.baseAddress, !bytes.isEmpty else { throw .invalidModel("\(path): the file is empty") }
    let detached = detachingWeights ? DetachedWeights(bytes) : nil
    let model =
      if let detached {
        detached.message.withUnsafeBufferPointer { onnx__model_proto__unpack(nil, $0.count, $0.baseAddress) }
      } else {
        onnx__model_proto__unpack(nil, bytes.count, base.assumingMemoryBound(to: UInt8.self))
      }
    guard let model else {
      throw .invalidModel(
        "\(path): not a valid ONNX model (protobuf decoding failed: the file is truncated or corrupt)")
    }
    defer { onnx__model_proto__free_unpacked(model, nil) }
    let m = model.pointee
    guard m.has_ir_version != 0 else { throw .invalidModel("\(path): no IR version (not an ONNX model?)") }
    guard m.ir_version >= minimumIRVersion else {
      throw .unsupported("\(path): IR version \(m.ir_version) is older than the oldest supported, \(minimumIRVersion)")
    }
    var opset: Int? = nil
    for i in 0..<m.n_opset_import {
      guard let entry = m.opset_import[i] else { continue }
      let domain = string(entry.pointee.domain)
      if domain.isEmpty || domain == "ai.onnx" { opset = Int(entry.pointee.version) }
    }
    guard let opset else {
      throw .unsupported(
        "\(path): the model imports no default-domain (ai.onnx) opset; only ai.onnx operators are supported")
    }
    guard opset >= minimumOpset else {
      throw .unsupported("\(path): opset \(opset) is older than the oldest supported, \(minimumOpset)")
    }
    guard let graph = m.graph else { throw .invalidModel("\(path): the model has no graph") }
    // The cut raw_data fields, per initializer: the unpacked message has one initializer per
    // field the cut kept, in the same order.
    let rawData = detached.map { detached in
      detached.rawData.map { range in range.map { UnsafeRawBufferPointer(rebasing: bytes[$0]) } }
    }
    return try convert(
      graph.pointee, opset: opset, decoder: TensorProtoDecoder(externalData: ExternalDataResolver(modelPath: path)),
      rawData: rawData, path: path)
  }

  private static func convert(
    _ g: Onnx__GraphProto, opset: Int, decoder: TensorProtoDecoder, rawData: [UnsafeRawBufferPointer?]?, path: String
  ) throws(ONNXError) -> Graph {
    guard g.n_sparse_initializer == 0 else { throw .unsupported("\(path): sparse initializers are not supported") }
    guard rawData.map({ $0.count == g.n_initializer }) ?? true else {
      throw .invalidModel("\(path): the graph's initializers were not read consistently")
    }
    var names: [String] = []
    var initializers: [String: Tensor] = [:]
    for i in 0..<g.n_initializer {
      guard let proto = g.initializer[i] else { continue }
      let name = string(proto.pointee.name)
      guard !name.isEmpty else { throw .invalidModel("\(path): initializer \(i) has no name") }
      guard initializers[name] == nil else { throw .invalidModel("\(path): two initializers are named '\(name)'") }
      do {
        initializers[name] = try decoder.decode(proto, what: "initializer", rawData: rawData?[i] ?? nil)
      } catch {
        throw error.prefixed(path)
      }
      names.append(name)
    }
    var nodes: [Node] = []
    for i in 0..<g.n_node {
      guard let proto = g.node[i] else { continue }
      nodes.append(try node(proto.pointee, index: i, decoder: decoder, path: path))
    }
    var inputs: [ValueInfo] = []
    for i in 0..<g.n_input {
      if let info = try valueInfo(g.input[i], path: path), initializers[info.name] == nil { inputs.append(info) }
    }
    var outputs: [ValueInfo] = []
    for i in 0..<g.n_output {
      if let info = try valueInfo(g.output[i], path: path) { outputs.append(info) }
    }
    guard !outputs.isEmpty else { throw .invalidModel("\(path): the graph has no outputs") }
    let available = Set(initializers.keys).union(inputs.map(\.name))
    let sorted = try topologicalOrder(nodes, available: available, path: path)
    for output in outputs
    where !available.contains(output.name) && !sorted.contains(where: { $0.outputs.contains(output.name) }) {
      throw .invalidModel("\(path): graph output '\(output.name)' is produced by no node")
    }
    return Graph(
      nodes: sorted, initializerNames: names, initializers: initializers, inputs: inputs, outputs: outputs, opset: opset
    )
  }

  private static func node(_ n: Onnx__NodeProto, index: Int, decoder: TensorProtoDecoder, path: String)
    throws(ONNXError) -> Node
  {
    let opType = string(n.op_type)
    guard !opType.isEmpty else { throw .invalidModel("\(path): node \(index) has no op_type") }
    var name = string(n.name)
    if name.isEmpty { name = "#\(index)" }
    var attributes: [String: Attribute] = [:]
    for i in 0..<n.n_attribute {
      guard let a = n.attribute[i]?.pointee else { continue }
      let key = string(a.name)
      do {
        attributes[key] = try attribute(a, decoder: decoder)
      } catch {
        throw .inNode(node: name, op: opType, error.prefixed("attribute '\(key)'"))
      }
    }
    return Node(
      name: name, opType: opType, domain: string(n.domain),
      inputs: (0..<n.n_input).map { string(n.input[$0]) }, outputs: (0..<n.n_output).map { string(n.output[$0]) },
      attributes: attributes)
  }

  private static func attribute(_ a: Onnx__AttributeProto, decoder: TensorProtoDecoder) throws(ONNXError) -> Attribute {
    switch a.type {
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT: return .float(a.f)
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT: return .int(a.i)
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING: return .string(binary(a.s))
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR:
      guard let t = a.t else { throw .invalidModel("tensor attribute without a tensor") }
      return .tensor(try decoder.decode(t, what: "tensor"))
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS:
      return .floats(a.n_floats == 0 ? [] : Array(UnsafeBufferPointer(start: a.floats, count: a.n_floats)))
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS:
      return .ints(a.n_ints == 0 ? [] : Array(UnsafeBufferPointer(start: a.ints, count: a.n_ints)))
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRINGS:
      return .strings((0..<a.n_strings).map { binary(a.strings[$0]) })
    default:
      if a.ref_attr_name != nil { throw .unsupported("attribute references (function bodies) are not supported") }
      return .unsupported("attribute type \(a.type.rawValue)")
    }
  }

  private static func valueInfo(_ pointer: UnsafeMutablePointer<Onnx__ValueInfoProto>?, path: String) throws(ONNXError)
    -> ValueInfo?
  {
    guard let v = pointer?.pointee else { return nil }
    let name = string(v.name)
    guard !name.isEmpty else { throw .invalidModel("\(path): a graph input or output has no name") }
    guard let type = v.type?.pointee, type.value_case == ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE,
      let tensor = type.tensor_type?.pointee
    else {
      return ValueInfo(name: name, elementType: 0, shape: nil, isTensor: false)
    }
    var shape: [Int?]? = nil
    var symbols: [String?] = []
    if let s = tensor.shape?.pointee {
      let dims = (0..<s.n_dim).map { s.dim[$0]?.pointee }
      shape = dims.map { d -> Int? in
        guard let d, d.value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE, d.dim_value >= 0 else {
          return nil
        }
        return Int(d.dim_value)
      }
      symbols = dims.map { d -> String? in
        guard let d, d.value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM else { return nil }
        let symbol = string(d.dim_param)
        return symbol.isEmpty ? nil : symbol
      }
    }
    return ValueInfo(
      name: name, elementType: tensor.has_elem_type != 0 ? tensor.elem_type : 0, shape: shape, symbols: symbols,
      isTensor: true)
  }

  /// Orders nodes so each reads only values already available (Kahn's algorithm, stable).
  static func topologicalOrder(_ nodes: [Node], available: Set<String>, path: String) throws(ONNXError) -> [Node] {
    var producer: [String: Int] = [:]
    for (i, n) in nodes.enumerated() {
      for o in n.outputs where !o.isEmpty {
        guard producer[o] == nil, !available.contains(o) else {
          throw .invalidModel("\(path): value '\(o)' is produced twice (node '\(n.name)')")
        }
        producer[o] = i
      }
    }
    var pending = [Int](repeating: 0, count: nodes.count)
    var readers: [Int: [Int]] = [:]
    for (i, n) in nodes.enumerated() {
      for input in Set(n.inputs) where !input.isEmpty && !available.contains(input) {
        guard let p = producer[input] else {
          throw .invalidModel(
            "\(path): node '\(n.name)' (\(n.opType)) reads '\(input)', which no node, graph input or initializer provides"
          )
        }
        pending[i] += 1
        readers[p, default: []].append(i)
      }
    }
    var ready = (0..<nodes.count).filter { pending[$0] == 0 }
    var order: [Node] = []
    var cursor = 0
    while cursor < ready.count {
      let i = ready[cursor]
      cursor += 1
      order.append(nodes[i])
      for r in readers[i, default: []] {
        pending[r] -= 1
        if pending[r] == 0 { ready.append(r) }
      }
    }
    guard order.count == nodes.count else { throw .invalidModel("\(path): the graph has a cycle") }
    return order
  }

  private static func string(_ pointer: UnsafeMutablePointer<CChar>?) -> String {
    pointer.map { String(cString: $0) } ?? ""
  }

  private static func binary(_ data: ProtobufCBinaryData) -> String {
    guard data.len > 0, let bytes = data.data else { return "" }
    return String(decoding: UnsafeBufferPointer(start: bytes, count: data.len), as: UTF8.self)
  }
}

extension ONNXError {
  /// The same error with `context: ` in front of its message.
  func prefixed(_ context: String) -> ONNXError {
    switch self {
    case .notFound(let m): return .notFound("\(context): \(m)")
    case .invalidModel(let m): return .invalidModel("\(context): \(m)")
    case .unsupported(let m): return .unsupported("\(context): \(m)")
    case .typeMismatch(let m): return .typeMismatch("\(context): \(m)")
    case .shapeMismatch(let m): return .shapeMismatch("\(context): \(m)")
    case .invalidArgument(let m): return .invalidArgument("\(context): \(m)")
    case .inNode: return self
    }
  }

  /// The same error, whatever node it came from, with `samples: ` in front of its whole message
  /// ("sample 3: node 'embed' (Gather): index 120 is out of range…"), keeping its status.
  func atSamples(_ samples: String) -> ONNXError {
    switch self {
    case .inNode(_, _, let inner): return inner.replacingMessage("\(samples): \(description)")
    default: return prefixed(samples)
    }
  }

  private func replacingMessage(_ message: String) -> ONNXError {
    switch self {
    case .notFound: return .notFound(message)
    case .invalidModel: return .invalidModel(message)
    case .unsupported: return .unsupported(message)
    case .typeMismatch: return .typeMismatch(message)
    case .shapeMismatch: return .shapeMismatch(message)
    case .invalidArgument: return .invalidArgument(message)
    case .inNode(_, _, let inner): return inner.replacingMessage(message)
    }
  }
}
