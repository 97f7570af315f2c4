import Foundation

/// A model on disk: a folder holding `model.json` (the architecture) and one float32 `.npy` per tensor, named `<layer>.<tensor>.npy` (`weight`, `bias`, `running_mean`, `running_var`), in PyTorch's layouts.
///
/// `open` also accepts the path of an architecture file; its tensors are then looked for in the file's
/// folder.
enum ModelFolder {
  static let architectureFile = "model.json"

  /// Opens the model at `path`.
  ///
  /// With `initSeed`, parameters and buffers are initialised from the seed (PyTorch's default schemes) and no
  /// tensor files are read: training from scratch. `convolutionFactoring` decides which convolutions
  /// are reported as sums over their positions.
  static func open(_ path: String, initSeed: UInt64?, convolutionFactoring: ConvolutionFactoring)
    throws(SwiftNetError) -> Network
  {
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
      throw .fileNotFound(path: path, reason: "no such model folder or architecture file")
    }
    let root = URL(fileURLWithPath: path)
    let file = isDirectory.boolValue ? root.appendingPathComponent(architectureFile) : root
    let folder = file.deletingLastPathComponent()
    let data: Data
    do {
      data = try Data(contentsOf: file)
    } catch {
      throw .fileNotFound(path: file.path, reason: "cannot read the architecture: \(error.localizedDescription)")
    }
    let document = try JSONValue.parse(data) { .malformedArchitecture(path: file.path, reason: $0) }
    let architecture = try Architecture(document)
    var weights = Weights(
      parameters: [Float](repeating: 0, count: architecture.parameterCount),
      buffers: [Float](repeating: 0, count: architecture.bufferCount))
    if let initSeed {
      var random = SeededRandom(seed: initSeed)
      for layer in architecture.body.layers { layer.initialize(&weights, random: &random) }
      return Network(architecture: architecture, weights: weights, convolutionFactoring: convolutionFactoring)
    }
    for layer in tensorOwners(architecture.body.layers) { try load(layer, from: folder, into: &weights) }
    return Network(architecture: architecture, weights: weights, convolutionFactoring: convolutionFactoring)
  }

  private static func load(_ layer: any Layer, from folder: URL, into weights: inout Weights) throws(SwiftNetError) {
    for slot in layer.tensors {
      let url = folder.appendingPathComponent("\(layer.name).\(slot.suffix).npy")
      guard FileManager.default.fileExists(atPath: url.path) else {
        throw .invalidArchitecture(
          layer: layer.name,
          reason:
            "missing weights: \(url.path) (shape \(slot.shape)); to train from scratch open with options {\"init_seed\": S}"
        )
      }
      let (shape, values) = try NPYTensor.read(url)
      guard shape == slot.shape else {
        throw .invalidArchitecture(
          layer: layer.name,
          reason: "\(slot.suffix) has shape \(shape) in \(url.lastPathComponent), the architecture needs \(slot.shape)")
      }
      if let bad = values.firstIndex(where: { !$0.isFinite }) {
        throw .invalidWeights(path: url.path, reason: "value \(bad) is \(values[bad]); weights must be finite")
      }
      if slot.isBuffer {
        weights.buffers.replaceSubrange(slot.offset..<slot.offset + slot.count, with: values)
      } else {
        weights.parameters.replaceSubrange(slot.offset..<slot.offset + slot.count, with: values)
      }
    }
  }

  /// Writes `network` as a model folder at `path`, atomically: everything goes to a temporary sibling folder that is renamed into place.
  ///
  /// An existing swiftnet model folder at `path` is replaced; any other existing file or folder is left alone
  /// and reported.
  static func save(_ network: Network, to path: String) throws(SwiftNetError) {
    let target = URL(fileURLWithPath: path)
    let manager = FileManager.default
    var isDirectory: ObjCBool = false
    let exists = manager.fileExists(atPath: target.path, isDirectory: &isDirectory)
    if exists
      && !(isDirectory.boolValue && manager.fileExists(atPath: target.appendingPathComponent(architectureFile).path))
    {
      throw .invalidArgument(
        "cannot save to \(path): it exists and is not a swiftnet model folder (no \(architectureFile)); refusing to replace it"
      )
    }
    guard manager.fileExists(atPath: target.deletingLastPathComponent().path) else {
      throw .invalidArgument("cannot save to \(path): its parent folder does not exist")
    }
    let unique = "\(ProcessInfo.processInfo.processIdentifier)-\(UUID().uuidString)"
    let temporary = target.deletingLastPathComponent().appendingPathComponent(
      ".\(target.lastPathComponent).tmp-\(unique)")
    do {
      try manager.createDirectory(at: temporary, withIntermediateDirectories: false)
      try network.architecture.document.encoded().write(to: temporary.appendingPathComponent(architectureFile))
      for layer in tensorOwners(network.architecture.body.layers) {
        for slot in layer.tensors {
          let source = slot.isBuffer ? network.weights.buffers : network.weights.parameters
          let data = NPYTensor.encode(source[slot.offset..<slot.offset + slot.count], shape: slot.shape)
          try data.write(to: temporary.appendingPathComponent("\(layer.name).\(slot.suffix).npy"))
        }
      }
      if exists {
        let old = target.deletingLastPathComponent().appendingPathComponent(
          ".\(target.lastPathComponent).old-\(unique)")
        try manager.moveItem(at: target, to: old)
        try manager.moveItem(at: temporary, to: target)
        try? manager.removeItem(at: old)
      } else {
        try manager.moveItem(at: temporary, to: target)
      }
    } catch {
      try? manager.removeItem(at: temporary)
      throw .cannotWrite(path: path, reason: error.localizedDescription)
    }
  }

  /// Layers that own tensors directly (residual blocks expanded into their sub-layers).
  private static func tensorOwners(_ layers: [any Layer]) -> [any Layer] {
    layers.flatMap { layer -> [any Layer] in
      guard let block = layer as? Residual else { return [layer] }
      return tensorOwners(block.body.layers + block.shortcut.layers)
    }
  }
}
