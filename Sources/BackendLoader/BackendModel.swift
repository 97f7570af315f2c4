import CEntkABI
import Foundation

/// An open model: the Swift face of one `entk_model` handle.
///
/// Calls on one instance must not overlap (the ABI's rule), so the type is not `Sendable`; open
/// one model per thread to work in parallel. Buffers are float32, row-major, batch first.
public final class BackendModel {
  public let library: BackendLibrary
  public let path: String
  /// The model's shapes and parameter groups, read once at open.
  public let description: ModelDescription
  /// How `factoredJacobian` lays out a row, when the backend has the ABI 1.1 factor calls.
  public let factorLayout: FactorLayout?
  let handle: OpaquePointer
  private var errorBuffer = [CChar](repeating: 0, count: 4096)

  /// Whether the backend computes Jacobians itself (otherwise `jacobian` makes C `vjp` calls).
  public var hasNativeJacobian: Bool { library.api.jacobian != nil }

  init(library: BackendLibrary, path: String, options: String?) throws {
    self.library = library
    self.path = path
    var model: OpaquePointer?
    var buffer = [CChar](repeating: 0, count: 4096)
    let status = library.api.open(path, options, &model, &buffer, buffer.count)
    try Self.check(status, library: library, call: "open", buffer: buffer)
    guard let model else {
      throw BackendCallError.failed(
        backend: library.name, call: "open", status: .internalError, message: "returned OK without a model handle")
    }
    handle = model
    do {
      description = try Self.describe(library: library, model: model)
      factorLayout = try Self.factorLayout(library: library, model: model, description: description)
    } catch {
      library.api.close(model)
      throw error
    }
  }

  deinit { library.api.close(handle) }

  private static func describe(library: BackendLibrary, model: OpaquePointer) throws -> ModelDescription {
    var buffer = [CChar](repeating: 0, count: 4096)
    var info = entk_model_info()
    info.struct_size = MemoryLayout<entk_model_info>.size
    try check(
      library.api.describe(model, &info, &buffer, buffer.count), library: library, call: "describe", buffer: buffer)
    let rank = Int(info.input_rank)
    guard (1...Int(ENTK_MAX_INPUT_RANK)).contains(rank) else {
      throw BackendCallError.invalidDescription(
        backend: library.name, reason: "input_rank is \(rank), must be 1...\(ENTK_MAX_INPUT_RANK)")
    }
    let shape = withUnsafeBytes(of: info.input_shape) {
      Array($0.bindMemory(to: Int64.self).prefix(rank)).map { Int($0) }
    }
    let groupCount = Int(info.num_param_groups)
    guard groupCount >= 1, groupCount <= 1 << 24 else {
      throw BackendCallError.invalidDescription(backend: library.name, reason: "num_param_groups is \(groupCount)")
    }
    var groups: [ParameterGroup] = []
    for index in 0..<groupCount {
      var group = entk_param_group()
      group.struct_size = MemoryLayout<entk_param_group>.size
      try check(
        library.api.param_group(model, Int64(index), &group, &buffer, buffer.count), library: library,
        call: "param_group(\(index))", buffer: buffer)
      guard let name = group.name else {
        throw BackendCallError.invalidDescription(
          backend: library.name, reason: "parameter group \(index) has a NULL name")
      }
      groups.append(ParameterGroup(name: String(cString: name), offset: Int(group.offset), count: Int(group.count)))
    }
    let description = ModelDescription(
      inputShape: shape, numOutputs: Int(info.num_outputs), numParams: Int(info.num_params),
      embeddingSize: Int(info.embedding_size), parameterGroups: groups)
    if let violation = description.violation() {
      throw BackendCallError.invalidDescription(backend: library.name, reason: violation)
    }
    return description
  }

  private static func factorLayout(library: BackendLibrary, model: OpaquePointer, description: ModelDescription)
    throws -> FactorLayout?
  {
    let api = library.api
    guard let groupFactor = api.group_factor, api.factored_jacobian != nil else {
      guard api.group_factor == nil, api.factored_jacobian == nil else {
        throw BackendCallError.invalidDescription(
          backend: library.name, reason: "group_factor and factored_jacobian must both be set or both be NULL")
      }
      return nil
    }
    var buffer = [CChar](repeating: 0, count: 4096)
    var factors: [(input: Int, output: Int)?] = []
    var reasons: [String?] = []
    for (index, group) in description.parameterGroups.enumerated() {
      // Zero-initialised: `reason` stays NULL with a backend of ABI minor < 2.
      var factor = entk_group_factor()
      factor.struct_size = MemoryLayout<entk_group_factor>.size
      try check(
        groupFactor(model, Int64(index), &factor, &buffer, buffer.count), library: library,
        call: "group_factor(\(index))", buffer: buffer)
      reasons.append(factor.factored == 0 ? factor.reason.map { String(cString: $0) } : nil)
      switch factor.factored {
      case 0: factors.append(nil)
      case 1: factors.append((Int(factor.input_dim), Int(factor.output_dim)))
      default:
        throw BackendCallError.invalidDescription(
          backend: library.name,
          reason: "group_factor for '\(group.name)' sets factored = \(factor.factored), not 0 or 1")
      }
    }
    return try FactorLayout(description: description, factors: factors, plainReasons: reasons, backend: library.name)
  }

  private static func check(_ status: entk_status, library: BackendLibrary, call: String, buffer: [CChar]) throws {
    guard status.rawValue != 0 else { return }
    let message = buffer.withUnsafeBufferPointer { pointer -> String in
      guard let base = pointer.baseAddress, pointer.contains(0) else { return "(message not NUL-terminated)" }
      return String(cString: base)
    }
    throw BackendCallError.failed(
      backend: library.name, call: call, status: BackendStatus(rawValue: status.rawValue),
      message: message.isEmpty ? "(the backend gave no message)" : message)
  }

  func check(_ call: String, _ body: (UnsafeMutablePointer<CChar>, Int) throws -> entk_status) throws {
    for index in errorBuffer.indices { errorBuffer[index] = 0 }
    let status = try errorBuffer.withUnsafeMutableBufferPointer { try body(address($0), $0.count) }
    try Self.check(status, library: library, call: call, buffer: errorBuffer)
  }

  /// The base address of a buffer the caller has already checked to be non-empty.
  private func address<T>(_ buffer: UnsafeBufferPointer<T>) throws -> UnsafePointer<T> {
    guard let base = buffer.baseAddress else { throw BackendCallError.emptyBuffer }
    return base
  }

  private func address<T>(_ buffer: UnsafeMutableBufferPointer<T>) throws -> UnsafeMutablePointer<T> {
    guard let base = buffer.baseAddress else { throw BackendCallError.emptyBuffer }
    return base
  }

  private func requireCount(_ call: String, _ what: String, _ buffer: Int, _ expected: Int) throws {
    guard expected > 0 else {
      throw BackendCallError.shapeMismatch(
        call: call, expected: "a batch of at least 1 sample", actual: "0 floats of \(what)")
    }
    guard buffer == expected else {
      throw BackendCallError.shapeMismatch(call: call, expected: "\(expected) floats of \(what)", actual: "\(buffer)")
    }
  }

  /// Logits (n × C) and, when `embedding` is given, penultimate features (n × E) for n samples.
  public func forward(
    inputs: UnsafeBufferPointer<Float>, count n: Int, logits: UnsafeMutableBufferPointer<Float>,
    embedding: UnsafeMutableBufferPointer<Float>? = nil
  ) throws {
    let d = description
    try requireCount("forward", "inputs", inputs.count, n * d.inputSize)
    try requireCount("forward", "logits", logits.count, n * d.numOutputs)
    if let embedding { try requireCount("forward", "embedding", embedding.count, n * d.embeddingSize) }
    try check("forward") {
      library.api.forward(handle, try address(inputs), Int64(n), try address(logits), embedding?.baseAddress, $0, $1)
    }
  }

  /// Convenience form of `forward` on arrays: returns logits (n × C) and, if asked, the
  /// embedding (n × E).
  public func forward(_ inputs: [Float], count n: Int, withEmbedding: Bool = false) throws -> (
    logits: [Float], embedding: [Float]?
  ) {
    var logits = [Float](repeating: 0, count: n * description.numOutputs)
    var embedding: [Float]? = withEmbedding ? [Float](repeating: 0, count: n * description.embeddingSize) : nil
    try inputs.withUnsafeBufferPointer { input in
      try logits.withUnsafeMutableBufferPointer { out in
        if var features = embedding {
          try features.withUnsafeMutableBufferPointer {
            try forward(inputs: input, count: n, logits: out, embedding: $0)
          }
          embedding = features
        } else {
          try forward(inputs: input, count: n, logits: out)
        }
      }
    }
    return (logits, embedding)
  }

  /// Per-sample gradients (n × P): row i = Σ_c u[i,c] ∂f_c(x_i)/∂θ for cotangents u (n × C).
  public func vjp(
    inputs: UnsafeBufferPointer<Float>, count n: Int, cotangents: UnsafeBufferPointer<Float>,
    gradients: UnsafeMutableBufferPointer<Float>
  ) throws {
    let d = description
    try requireCount("vjp", "inputs", inputs.count, n * d.inputSize)
    try requireCount("vjp", "cotangents", cotangents.count, n * d.numOutputs)
    try requireCount("vjp", "gradients", gradients.count, n * d.numParams)
    try check("vjp") {
      library.api.vjp(handle, try address(inputs), Int64(n), try address(cotangents), try address(gradients), $0, $1)
    }
  }

  /// Convenience form of `vjp` on arrays.
  public func vjp(_ inputs: [Float], count n: Int, cotangents: [Float]) throws -> [Float] {
    var gradients = [Float](repeating: 0, count: n * description.numParams)
    try inputs.withUnsafeBufferPointer { input in
      try cotangents.withUnsafeBufferPointer { u in
        try gradients.withUnsafeMutableBufferPointer { try vjp(inputs: input, count: n, cotangents: u, gradients: $0) }
      }
    }
    return gradients
  }

  /// Full per-sample Jacobians (n × C × P), from the backend's `jacobian` call when it has one,
  /// otherwise from C `vjp` calls with one-hot cotangents.
  public func jacobian(inputs: UnsafeBufferPointer<Float>, count n: Int, jacobians: UnsafeMutableBufferPointer<Float>)
    throws
  {
    let d = description
    try requireCount("jacobian", "inputs", inputs.count, n * d.inputSize)
    try requireCount("jacobian", "jacobians", jacobians.count, n * d.numOutputs * d.numParams)
    if let native = library.api.jacobian {
      try check("jacobian") { native(handle, try address(inputs), Int64(n), try address(jacobians), $0, $1) }
      return
    }
    let (c, p) = (d.numOutputs, d.numParams)
    var cotangents = [Float](repeating: 0, count: n * c)
    var rows = [Float](repeating: 0, count: n * p)
    for k in 0..<c {
      for i in 0..<n {
        for j in 0..<c { cotangents[i * c + j] = j == k ? 1 : 0 }
      }
      try cotangents.withUnsafeBufferPointer { u in
        try rows.withUnsafeMutableBufferPointer { try vjp(inputs: inputs, count: n, cotangents: u, gradients: $0) }
      }
      for i in 0..<n {
        let destination = UnsafeMutableBufferPointer(rebasing: jacobians[(i * c + k) * p..<(i * c + k + 1) * p])
        _ = destination.update(fromContentsOf: rows[i * p..<(i + 1) * p])
      }
    }
  }

  /// Per-sample Jacobians with the factored groups as factors (n × `factorLayout.rowLength`, see
  /// `FactorLayout`), from the backend's ABI 1.1 `factored_jacobian`.
  public func factoredJacobian(
    inputs: UnsafeBufferPointer<Float>, count n: Int, rows: UnsafeMutableBufferPointer<Float>
  ) throws {
    guard let layout = factorLayout, let factored = library.api.factored_jacobian else {
      throw BackendCallError.unsupported(backend: library.name, call: "factored_jacobian")
    }
    try requireCount("factored_jacobian", "inputs", inputs.count, n * description.inputSize)
    try requireCount("factored_jacobian", "rows", rows.count, n * layout.rowLength)
    try check("factored_jacobian") { factored(handle, try address(inputs), Int64(n), try address(rows), $0, $1) }
  }

  /// Convenience form of `factoredJacobian` on arrays.
  public func factoredJacobian(_ inputs: [Float], count n: Int) throws -> [Float] {
    var out = [Float](repeating: 0, count: n * (factorLayout?.rowLength ?? 0))
    try inputs.withUnsafeBufferPointer { input in
      try out.withUnsafeMutableBufferPointer { try factoredJacobian(inputs: input, count: n, rows: $0) }
    }
    return out
  }

  /// Convenience form of `jacobian` on arrays.
  public func jacobian(_ inputs: [Float], count n: Int) throws -> [Float] {
    var out = [Float](repeating: 0, count: n * description.numOutputs * description.numParams)
    try inputs.withUnsafeBufferPointer { input in
      try out.withUnsafeMutableBufferPointer { try jacobian(inputs: input, count: n, jacobians: $0) }
    }
    return out
  }

  /// The P parameters, if the backend can report them.
  public func parameters() throws -> [Float] {
    guard let getParams = library.api.get_params else {
      throw BackendCallError.unsupported(backend: library.name, call: "get_params")
    }
    var params = [Float](repeating: 0, count: description.numParams)
    try params.withUnsafeMutableBufferPointer { out in
      try check("get_params") { getParams(handle, try address(out), $0, $1) }
    }
    return params
  }

  /// Replaces the P parameters, if the backend allows it.
  public func setParameters(_ params: [Float]) throws {
    guard let setParams = library.api.set_params else {
      throw BackendCallError.unsupported(backend: library.name, call: "set_params")
    }
    try requireCount("set_params", "parameters", params.count, description.numParams)
    try params.withUnsafeBufferPointer { values in
      try check("set_params") { setParams(handle, try address(values), $0, $1) }
    }
  }

  /// Trains in place with the backend's `train` call.
  ///
  /// `progress` receives each epoch's JSON event and returns false to stop.
  public func train(
    inputs: [Float], labels: [Int64], options: String?, progress: @escaping (String) -> Bool
  ) throws {
    guard let train = library.api.train else {
      throw BackendCallError.unsupported(backend: library.name, call: "train")
    }
    let n = labels.count
    try requireCount("train", "inputs", inputs.count, n * description.inputSize)
    let box = ProgressBox(progress)
    let context = Unmanaged.passRetained(box)
    defer { context.release() }
    let callback: entk_progress_fn = { context, event in
      guard let context else { return 0 }
      let box = Unmanaged<ProgressBox>.fromOpaque(context).takeUnretainedValue()
      return box.handler(String(cString: event)) ? 0 : 1
    }
    // Its own error buffer, not `errorBuffer`: the progress handler may call `forward` on this
    // model (the ABI allows it), which writes `errorBuffer` while `train` is still running.
    var buffer = [CChar](repeating: 0, count: 4096)
    let status = try inputs.withUnsafeBufferPointer { x in
      try labels.withUnsafeBufferPointer { y in
        try buffer.withUnsafeMutableBufferPointer { message in
          train(
            handle, try address(x), try address(y), Int64(n), options, callback, context.toOpaque(),
            try address(message), message.count)
        }
      }
    }
    try Self.check(status, library: library, call: "train", buffer: buffer)
  }

  /// Calls `param_group` directly (bypassing the description read at open), for conformance
  /// checks of out-of-range indices.
  public func queryParameterGroup(_ index: Int) throws -> ParameterGroup {
    var group = entk_param_group()
    group.struct_size = MemoryLayout<entk_param_group>.size
    try check("param_group(\(index))") { library.api.param_group(handle, Int64(index), &group, $0, $1) }
    guard let name = group.name else {
      throw BackendCallError.invalidDescription(
        backend: library.name, reason: "parameter group \(index) has a NULL name")
    }
    return ParameterGroup(name: String(cString: name), offset: Int(group.offset), count: Int(group.count))
  }

  /// Calls `forward`, `vjp` and, when present, `jacobian` and `factored_jacobian` with n = 0, which
  /// the ABI says must fail with an invalid-argument status; returns a description of each call
  /// that did not.
  public func probeEmptyBatch() -> [String] {
    let d = description
    var input = [Float](repeating: 0, count: d.inputSize)
    var output = [Float](repeating: 0, count: d.numOutputs * max(d.numParams, 1))
    var cotangent = [Float](repeating: 0, count: d.numOutputs)
    var problems: [String] = []
    var calls: [(String, (UnsafeMutablePointer<CChar>, Int) -> entk_status)] = [
      ("forward", { [self] in library.api.forward(handle, &input, 0, &output, nil, $0, $1) }),
      ("vjp", { [self] in library.api.vjp(handle, &input, 0, &cotangent, &output, $0, $1) }),
    ]
    if let jacobian = library.api.jacobian {
      calls.append(("jacobian", { [self] in jacobian(handle, &input, 0, &output, $0, $1) }))
    }
    if let factored = library.api.factored_jacobian {
      calls.append(("factored_jacobian", { [self] in factored(handle, &input, 0, &output, $0, $1) }))
    }
    for (name, call) in calls {
      do {
        try check(name, call)
        problems.append("\(name) with n = 0 returned OK")
      } catch BackendCallError.failed(_, _, let status, _) where status == .invalidArgument {
        continue
      } catch {
        problems.append("\(name) with n = 0: expected an invalid-argument status, got: \(error)")
      }
    }
    return problems
  }

  /// Saves the model to `path` with the backend's `save` call.
  public func save(to path: String) throws {
    guard let save = library.api.save else { throw BackendCallError.unsupported(backend: library.name, call: "save") }
    try check("save") { save(handle, path, $0, $1) }
  }
}

private final class ProgressBox {
  let handler: (String) -> Bool
  init(_ handler: @escaping (String) -> Bool) { self.handler = handler }
}
