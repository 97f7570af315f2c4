/// Builds a network from the architecture document (`schemas/swiftnet-model.schema.json`).
///
///     {"format": "entk-swiftnet", "version": 1, "input_shape": [1, 8, 8],
///      "layers": [{"type": "conv2d", "out_channels": 8, "kernel_size": 3, "padding": 1}, ...]}
///
/// Layers run in order; a `residual` layer holds `body` and `shortcut` layer lists. Each layer's
/// input shape is the previous layer's output shape, checked as the network is built, so a
/// mismatch is reported at open naming the layer. Unnamed layers are named by position: "3",
/// "3.body.0", "3.shortcut.1" (PyTorch's module paths for the same nesting).
struct Architecture {
  static let format = "entk-swiftnet"
  static let version = 1

  let inputShape: [Int]
  let body: LayerSequence
  let description: String?
  let parameterCount: Int
  let bufferCount: Int

  /// Parses and shape-checks `document`.
  init(_ document: JSONValue) throws(SwiftNetError) {
    guard case .object(let top) = document else {
      throw .invalidArchitecture(
        layer: "model", reason: "the architecture must be a JSON object, got \(document.typeName)")
    }
    let known: Set<String> = ["format", "version", "input_shape", "layers", "description"]
    if let unknown = top.keys.sorted().first(where: { !known.contains($0) }) {
      throw .invalidArchitecture(
        layer: "model", reason: "unknown top-level key '\(unknown)' (known: \(known.sorted().joined(separator: ", ")))")
    }
    guard top["format"] == .string(Self.format) else {
      throw .invalidArchitecture(layer: "model", reason: "'format' must be \"\(Self.format)\"")
    }
    guard top["version"] == .int(Self.version) else {
      throw .invalidArchitecture(
        layer: "model", reason: "'version' must be \(Self.version) (this backend reads version \(Self.version))")
    }
    guard case .array(let shapeItems) = top["input_shape"] ?? .null, (1...3).contains(shapeItems.count) else {
      throw .invalidArchitecture(
        layer: "model", reason: "'input_shape' must be [features] or [channels, height, width]")
    }
    var shape: [Int] = []
    for item in shapeItems {
      guard case .int(let dimension) = item, dimension >= 1, dimension <= 1 << 24 else {
        throw .invalidArchitecture(layer: "model", reason: "'input_shape' entries must be integers in 1...\(1 << 24)")
      }
      shape.append(dimension)
    }
    guard SizeLimit.product(shape) != nil else {
      throw .invalidArchitecture(
        layer: "model", reason: "'input_shape' \(shape) has more than \(SizeLimit.values) values")
    }
    guard shape.count != 2 else {
      throw .invalidArchitecture(
        layer: "model", reason: "'input_shape' must be [features] or [channels, height, width], got \(shape)")
    }
    guard case .array(let layerItems) = top["layers"] ?? .null, !layerItems.isEmpty else {
      throw .invalidArchitecture(layer: "model", reason: "'layers' must be a non-empty array of layer objects")
    }
    if let text = top["description"] {
      guard case .string(let value) = text else {
        throw .invalidArchitecture(layer: "model", reason: "'description' must be a string")
      }
      description = value
    } else {
      description = nil
    }
    var builder = Builder()
    body = try builder.sequence(layerItems, prefix: "", inputShape: shape)
    inputShape = shape
    guard body.outputShape.count == 1 else {
      throw .invalidArchitecture(
        layer: body.layers.last?.name ?? "model",
        reason:
          "the network must end in logits [classes], but the last layer produces shape \(body.outputShape) (end with a dense layer)"
      )
    }
    guard builder.parameterOffset > 0 else {
      throw .invalidArchitecture(layer: "model", reason: "the network has no parameters (add a dense or conv2d layer)")
    }
    parameterCount = builder.parameterOffset
    bufferCount = builder.bufferOffset
  }

  /// The document this architecture saves as: every layer named and every setting explicit.
  var document: JSONValue {
    var top: [String: JSONValue] = [
      "format": .string(Self.format), "version": .int(Self.version), "input_shape": .array(inputShape.map { .int($0) }),
      "layers": .array(body.layers.map { .object($0.config) }),
    ]
    if let description { top["description"] = .string(description) }
    return .object(top)
  }

  /// Assigns names and parameter/buffer offsets while walking the layer lists.
  private struct Builder {
    var parameterOffset = 0
    var bufferOffset = 0
    var names: Set<String> = []

    mutating func sequence(_ items: [JSONValue], prefix: String, inputShape: [Int]) throws(SwiftNetError)
      -> LayerSequence
    {
      var layers: [any Layer] = []
      var shape = inputShape
      for (index, item) in items.enumerated() {
        let layer = try self.layer(item, defaultName: prefix + String(index), inputShape: shape)
        layers.append(layer)
        shape = layer.outputShape
      }
      return LayerSequence(layers: layers, inputShape: inputShape)
    }

    private mutating func layer(_ item: JSONValue, defaultName: String, inputShape: [Int]) throws(SwiftNetError)
      -> any Layer
    {
      guard case .object(let fields) = item else {
        throw .invalidArchitecture(layer: defaultName, reason: "a layer must be a JSON object, got \(item.typeName)")
      }
      var name = defaultName
      if let given = fields["name"] {
        guard case .string(let text) = given, !text.isEmpty, text.count <= 200,
          text.unicodeScalars.allSatisfy({
            $0.isASCII && ($0.properties.isAlphabetic || ("0"..."9").contains($0) || "_.-".unicodeScalars.contains($0))
          })
        else {
          throw .invalidArchitecture(
            layer: defaultName,
            reason: "'name' must be a string of letters, digits, '_', '.', '-' (it names the weight files)")
        }
        name = text
      }
      guard names.insert(name).inserted else {
        throw .invalidArchitecture(layer: name, reason: "another layer has the same name")
      }
      guard case .string(let typeName) = fields["type"] ?? .null else {
        throw .invalidArchitecture(layer: name, reason: "a layer needs a string 'type'")
      }
      guard let type = LayerType(rawValue: typeName) else { throw .unknownLayer(layer: name, type: typeName) }
      var config = LayerConfig(name: name, type: type, fields: fields)
      let layer: any Layer
      switch type {
      case .dense: layer = try Dense(&config, inputShape: inputShape, parameterOffset: parameterOffset)
      case .conv2d: layer = try Conv2d(&config, inputShape: inputShape, parameterOffset: parameterOffset)
      case .maxpool2d: layer = try Pool2d(&config, mode: .max, inputShape: inputShape)
      case .avgpool2d: layer = try Pool2d(&config, mode: .average, inputShape: inputShape)
      case .globalavgpool: layer = try GlobalAvgPool(&config, inputShape: inputShape)
      case .flatten: layer = Flatten(&config, inputShape: inputShape)
      case .batchnorm2d:
        layer = try BatchNorm2d(
          &config, inputShape: inputShape, parameterOffset: parameterOffset, bufferOffset: bufferOffset)
      case .relu, .leakyrelu, .tanh, .sigmoid, .gelu, .softplus: layer = try Activation(&config, inputShape: inputShape)
      case .residual:
        guard let bodyItems = try config.layers("body"), !bodyItems.isEmpty else {
          throw .invalidArchitecture(layer: name, reason: "a residual block needs a non-empty 'body' layer list")
        }
        let shortcutItems = try config.layers("shortcut") ?? []
        try config.finish()
        let body = try sequence(bodyItems, prefix: name + ".body.", inputShape: inputShape)
        let shortcut = try sequence(shortcutItems, prefix: name + ".shortcut.", inputShape: inputShape)
        return try Residual(name: name, body: body, shortcut: shortcut)
      }
      try config.finish()
      for slot in layer.tensors {
        if slot.isBuffer { bufferOffset += slot.count } else { parameterOffset += slot.count }
      }
      guard parameterOffset <= 1 << 30 else {
        throw .invalidArchitecture(layer: name, reason: "the network would have more than 2^30 parameters")
      }
      return layer
    }
  }
}
