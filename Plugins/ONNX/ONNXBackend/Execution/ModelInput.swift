import CEntkABI

/// One graph input as the ABI describes it (`entk_input_info`): its name, element type and
/// per-sample shape, and for token ids the values the model can use.
public struct ModelInput: Sendable, Equatable {
  /// The element types the ABI feeds; the raw values are ONNX's `TensorProto.DataType` codes, as
  /// `entk_element_type`'s.
  public enum ElementType: Int32, Sendable {
    case float32 = 1
    case int32 = 6
    case int64 = 7
    case bool = 9

    public var name: String { TensorProtoDecoder.typeName(rawValue) }
  }

  /// The values an integer input may hold: 0..<`count`, because the model gathers rows of a table
  /// of `count` rows with them (an embedding).
  public struct IndexRange: Sendable, Equatable {
    public var count: Int
    /// What reads the values, for messages: "rows of 'embed.weight' ([100, 32]) that Gather 'g' reads".
    public var reader: String
  }

  public let name: String
  public let elementType: ElementType
  /// One sample's shape (no batch dimension), every entry ≥ 1.
  public let shape: [Int]
  /// For an integer input used as gather indices into a constant table; nil when any value goes.
  public internal(set) var indexRange: IndexRange?

  /// Elements per sample.
  public var size: Int { shape.reduce(1, *) }

  /// "input_ids (int64 [8])", for messages.
  public var summary: String { "\(name) (\(elementType.name) \(shape))" }

  /// The input `info` describes, with the symbolic dimensions `options` fix.
  ///
  /// The batch dimension (the first) must be symbolic or 1; every other dimension must be fixed by
  /// the model or by the options `shapes` (this input's whole per-sample shape) or `dims` (a
  /// symbolic dimension by name). The error for one left open names the option that fixes it.
  init(_ info: ValueInfo, options: ModelOptions) throws(ONNXError) {
    name = info.name
    guard let type = ElementType(rawValue: info.elementType) else {
      throw .unsupported(
        "input '\(info.name)' has element type \(TensorProtoDecoder.typeName(info.elementType)); the backend feeds float32, int32, int64 and bool inputs"
      )
    }
    elementType = type
    let requested = options.shapes[info.name]
    guard let dims = info.shape ?? requested.map({ [nil] + $0.map { Optional($0) } }) else {
      throw .invalidArgument(
        "input '\(info.name)' has no shape in the model; give one sample's shape with the option {\"shapes\": {\"\(info.name)\": [...]}}"
      )
    }
    let written = Self.describe(dims, symbols: info.symbols)
    guard dims.count >= 2 else {
      throw .unsupported(
        "input '\(info.name)' must have a batch dimension and at least one per-sample dimension, got \(written)")
    }
    guard dims.count - 1 <= Self.maximumRank else {
      throw .unsupported(
        "input '\(info.name)' \(written) has \(dims.count - 1) dimensions per sample; the ABI describes at most \(Self.maximumRank) (ENTK_MAX_INPUT_RANK, the length of entk_input_info.shape)"
      )
    }
    if let batch = dims[0], batch != 1 {
      throw .unsupported(
        "input '\(info.name)' fixes the batch dimension at \(batch); export with a dynamic batch axis (or batch 1)")
    }
    if let requested {
      guard requested.count == dims.count - 1,
        zip(dims.dropFirst(), requested).allSatisfy({ fixed, given in fixed == nil || fixed == given })
      else {
        throw .invalidArgument(
          "option 'shapes': '\(info.name)' is \(requested), but the model's input is \(written) (a batch dimension, then one sample's)"
        )
      }
      shape = requested
    } else {
      var resolved: [Int] = []
      for axis in 1..<dims.count {
        if let d = dims[axis] {
          guard d > 0 else { throw .unsupported("input '\(info.name)' has an empty dimension: \(written)") }
          resolved.append(d)
        } else if let symbol = Self.symbol(info, axis), let size = options.dimensions[symbol] {
          resolved.append(size)
        } else if let symbol = Self.symbol(info, axis) {
          throw .invalidArgument(
            "input '\(info.name)' \(written) has the symbolic dimension '\(symbol)' at axis \(axis); the backend needs a fixed shape per sample: open the model with the option {\"dims\": {\"\(symbol)\": N}} (N: your data's size on that axis), e.g. entk --options '{\"dims\": {\"\(symbol)\": 64}}'"
          )
        } else {
          throw .invalidArgument(
            "input '\(info.name)' \(written) has an unnamed dynamic dimension at axis \(axis); the backend needs a fixed shape per sample: open the model with the option {\"shapes\": {\"\(info.name)\": [...]}} (one sample's shape, without the batch dimension)"
          )
        }
      }
      shape = resolved
    }
    do {
      _ = try IndexMap.checkedCount(shape)
    } catch {
      throw error.prefixed("input '\(info.name)'")
    }
  }

  /// The most dimensions one sample of an input may have: the slots of `entk_input_info.shape`
  /// and `entk_model_info.input_shape`, through which the host learns the shape.
  static let maximumRank = Int(ENTK_MAX_INPUT_RANK)

  private static func symbol(_ info: ValueInfo, _ axis: Int) -> String? {
    axis < info.symbols.count ? info.symbols[axis] : nil
  }

  /// "[batch, sequence]", "[?, 8]": a model's input shape as written, for messages.
  static func describe(_ dims: [Int?], symbols: [String?]) -> String {
    let parts = dims.indices.map { i in
      dims[i].map(String.init) ?? (i < symbols.count ? symbols[i] : nil) ?? "?"
    }
    return "[\(parts.joined(separator: ", "))]"
  }

  // MARK: Reading the caller's buffers

  /// Samples `samples` of `buffer` (n samples of this input, as the ABI passes them) as one
  /// batched tensor: int32 widened to int64, bools from bytes.
  func tensor(_ buffer: UnsafeRawPointer, samples: Range<Int>) -> Tensor {
    let count = samples.count * size
    let first = samples.lowerBound * size
    let shape = [samples.count] + shape
    switch elementType {
    case .float32:
      let values = buffer.assumingMemoryBound(to: Float.self) + first
      return Tensor(shape: shape, floats: Array(UnsafeBufferPointer(start: values, count: count)))
    case .int64:
      let values = buffer.assumingMemoryBound(to: Int64.self) + first
      return Tensor(shape: shape, ints: Array(UnsafeBufferPointer(start: values, count: count)))
    case .int32:
      let values = buffer.assumingMemoryBound(to: Int32.self) + first
      return Tensor(shape: shape, ints: UnsafeBufferPointer(start: values, count: count).map { Int64($0) })
    case .bool:
      let values = buffer.assumingMemoryBound(to: UInt8.self) + first
      return Tensor(shape: shape, bools: UnsafeBufferPointer(start: values, count: count).map { $0 != 0 })
    }
  }

  /// Checks the n samples in `buffer` hold values the model can use: bools are 0 or 1, and the
  /// values of an input with an `indexRange` lie in it.
  ///
  /// The error names the input, the sample, the position in the sample and the value.
  func validate(_ buffer: UnsafeRawPointer, count n: Int) throws(ONNXError) {
    func refuse(_ index: Int, _ value: Int64, _ allowed: String) -> ONNXError {
      .invalidArgument(
        "input '\(name)', sample \(index / size), position \(index % size): value \(value) is out of range: \(allowed)")
    }
    let count = n * size
    switch elementType {
    case .float32: return
    case .bool:
      let values = UnsafeBufferPointer(start: buffer.assumingMemoryBound(to: UInt8.self), count: count)
      if let bad = values.firstIndex(where: { $0 > 1 }) {
        throw refuse(bad, Int64(values[bad]), "a bool input holds 0 or 1")
      }
    case .int64, .int32:
      guard let range = indexRange else { return }
      let limit = Int64(range.count)
      let allowed = "0..<\(range.count), the \(range.reader)"
      if elementType == .int64 {
        let values = UnsafeBufferPointer(start: buffer.assumingMemoryBound(to: Int64.self), count: count)
        if let bad = values.firstIndex(where: { $0 < 0 || $0 >= limit }) { throw refuse(bad, values[bad], allowed) }
      } else {
        let values = UnsafeBufferPointer(start: buffer.assumingMemoryBound(to: Int32.self), count: count)
        if let bad = values.firstIndex(where: { $0 < 0 || Int64($0) >= limit }) {
          throw refuse(bad, Int64(values[bad]), allowed)
        }
      }
    }
  }

  // MARK: Samples the model is probed with at open

  /// `samples` samples of zeros (false): the open-time shape inference.
  func zeros(samples: Int) -> Tensor {
    let shape = [samples] + shape
    let count = samples * size
    switch elementType {
    case .float32: return Tensor(shape: shape, floats: [Float](repeating: 0, count: count))
    case .int32, .int64: return Tensor(shape: shape, ints: [Int64](repeating: 0, count: count))
    case .bool: return Tensor(shape: shape, bools: [Bool](repeating: false, count: count))
    }
  }

  /// The probes of `ONNXModel.batchProbe`: one sample of 1, 2, 3, 1, 2, … (true,
  /// false, …; modulo the index range, so token ids stay valid), after a sample of zeros when
  /// `afterZeros`.
  func pattern(afterZeros: Bool) -> Tensor {
    let zeros = afterZeros ? size : 0
    let values =
      [Int64](repeating: 0, count: zeros) + (0..<size).map { Int64($0 % 3 + 1) % Int64(indexRange?.count ?? Int.max) }
    let shape = [afterZeros ? 2 : 1] + shape
    switch elementType {
    case .float32: return Tensor(shape: shape, floats: values.map { Float($0) })
    case .int32, .int64: return Tensor(shape: shape, ints: values)
    case .bool: return Tensor(shape: shape, bools: values.map { $0 % 2 == 1 })
    }
  }
}

extension ModelInput {
  /// Nodes whose output elements are elements of their input 0, unchanged: an index passed
  /// through them is still the same index.
  private static let rearrangements: Set<String> = [
    "Identity", "Reshape", "Flatten", "Squeeze", "Unsqueeze", "Transpose", "Expand", "Slice", "Tile",
  ]

  /// The values integer input `name` may hold, or nil when any value goes.
  ///
  /// Where it reaches, through rearrangements and integer Casts only, the indices of a Gather whose
  /// table is a constant (an initializer, or a value that does not depend on the inputs): 0..<the
  /// table's length on the gathered axis (the smallest, if several).
  ///
  /// Negative indices, which ONNX's Gather counts from the end, are refused too: PyTorch's
  /// embedding refuses them, and a negative token id is a mistake in the data.
  static func indexRange(of name: String, graph: Graph, constants: [String: Tensor]) -> IndexRange? {
    var carriers: Set<String> = [name]
    var found: IndexRange? = nil
    for node in graph.nodes {
      guard let first = node.inputs.first else { continue }
      if node.opType == "Gather", node.inputs.count > 1, carriers.contains(node.inputs[1]),
        let table = constants[first], table.rank >= 1
      {
        let raw: Int
        if case .int(let value)? = node.attributes["axis"] { raw = Int(value) } else { raw = 0 }
        let axis = raw < 0 ? raw + table.rank : raw
        // An empty table takes no index at all: its Gather fails in the open-time run.
        guard axis >= 0, axis < table.rank, table.shape[axis] >= 1 else { continue }
        let rows = table.shape[axis]
        if found == nil || rows < found?.count ?? 0 {
          found = IndexRange(
            count: rows, reader: "rows of '\(first)' (\(table.shape)) that Gather '\(node.name)' reads")
        }
      }
      let castsToInteger: Bool
      if node.opType == "Cast", case .int(let to)? = node.attributes["to"] {
        castsToInteger = to == 6 || to == 7
      } else {
        castsToInteger = false
      }
      if carriers.contains(first), castsToInteger || rearrangements.contains(node.opType) {
        carriers.formUnion(node.outputs.filter { !$0.isEmpty })
      }
    }
    return found
  }
}
