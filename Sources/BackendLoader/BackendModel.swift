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

  /// Whether the backend gives vjp rows in the factored layout (ABI 1.3 `factored_vjp_inputs`).
  public var hasFactoredVJP: Bool { factorLayout != nil && library.api.factored_vjp_inputs != nil }

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
    let inputs = try modelInputs(library: library, model: model, info: info)
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
      inputs: inputs, numOutputs: Int(info.num_outputs), numParams: Int(info.num_params),
      embeddingSize: Int(info.embedding_size), parameterGroups: groups)
    if let violation = description.violation() {
      throw BackendCallError.invalidDescription(backend: library.name, reason: violation)
    }
    return description
  }

  /// The inputs from `input_info` when the backend has the ABI 1.3 slots, else the one float32
  /// input of `input_rank`/`input_shape`.
  private static func modelInputs(library: BackendLibrary, model: OpaquePointer, info: entk_model_info) throws
    -> [ModelInput]
  {
    func shape(rank: Int32, _ dims: (Int64, Int64, Int64, Int64, Int64, Int64, Int64, Int64), of what: String) throws
      -> [Int]
    {
      guard (1...Int(ENTK_MAX_INPUT_RANK)).contains(Int(rank)) else {
        throw BackendCallError.invalidDescription(
          backend: library.name, reason: "\(what) has rank \(rank), must be 1...\(ENTK_MAX_INPUT_RANK)")
      }
      return withUnsafeBytes(of: dims) { Array($0.bindMemory(to: Int64.self).prefix(Int(rank))).map { Int($0) } }
    }
    guard let inputInfo = library.api.input_info else {
      guard info.num_inputs <= 1 else {
        throw BackendCallError.invalidDescription(
          backend: library.name, reason: "num_inputs is \(info.num_inputs) but the table has no input_info")
      }
      let dims = try shape(rank: info.input_rank, info.input_shape, of: "the input")
      return [ModelInput(name: "input", elementType: .float32, shape: dims)]
    }
    guard (1...1024).contains(info.num_inputs) else {
      throw BackendCallError.invalidDescription(
        backend: library.name, reason: "num_inputs is \(info.num_inputs), must be 1...1024 with input_info")
    }
    var buffer = [CChar](repeating: 0, count: 4096)
    return try (0..<Int(info.num_inputs)).map { index in
      var input = entk_input_info()
      input.struct_size = MemoryLayout<entk_input_info>.size
      try check(
        inputInfo(model, Int64(index), &input, &buffer, buffer.count), library: library,
        call: "input_info(\(index))", buffer: buffer)
      guard let name = input.name else {
        throw BackendCallError.invalidDescription(backend: library.name, reason: "input \(index) has a NULL name")
      }
      guard let type = InputElementType(rawValue: input.element_type) else {
        throw BackendCallError.invalidDescription(
          backend: library.name, reason: "input \(index) has element type \(input.element_type), not 1, 6, 7 or 9")
      }
      let dims = try shape(rank: input.rank, input.shape, of: "input \(index)")
      return ModelInput(name: String(cString: name), elementType: type, shape: dims)
    }
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
    var factors: [FactorLayout.GroupFactor?] = []
    var reasons: [String?] = []
    for (index, group) in description.parameterGroups.enumerated() {
      // Zero-initialised: `reason` stays NULL with a backend of ABI minor < 2, `terms` and
      // `one_hot` 0 with one of minor < 3.
      var factor = entk_group_factor()
      factor.struct_size = MemoryLayout<entk_group_factor>.size
      try check(
        groupFactor(model, Int64(index), &factor, &buffer, buffer.count), library: library,
        call: "group_factor(\(index))", buffer: buffer)
      reasons.append(factor.factored == 0 ? factor.reason.map { String(cString: $0) } : nil)
      guard factor.one_hot == 0 || factor.one_hot == 1 else {
        throw BackendCallError.invalidDescription(
          backend: library.name,
          reason: "group_factor for '\(group.name)' sets one_hot = \(factor.one_hot), not 0 or 1")
      }
      switch factor.factored {
      case 0: factors.append(nil)
      case 1:
        factors.append(
          FactorLayout.GroupFactor(
            inputDim: Int(factor.input_dim), outputDim: Int(factor.output_dim),
            terms: factor.terms == 0 ? 1 : Int(factor.terms), oneHot: factor.one_hot == 1))
      default:
        throw BackendCallError.invalidDescription(
          backend: library.name,
          reason: "group_factor for '\(group.name)' sets factored = \(factor.factored), not 0 or 1")
      }
    }
    let summed = factors.contains { $0.map { $0.terms > 1 || $0.oneHot } ?? false }
    guard !summed || api.factored_jacobian_inputs != nil else {
      throw BackendCallError.invalidDescription(
        backend: library.name,
        reason:
          "group_factor reports a sum of terms (ABI 1.3) but the table has no factored_jacobian_inputs, the only call that returns sums"
      )
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

  /// Checks that `batch` is for this model's inputs and not empty.
  private func requireBatch(_ call: String, _ batch: InputBatch) throws {
    guard batch.inputs == description.inputs else {
      throw BackendCallError.shapeMismatch(
        call: call, expected: "buffers for \(description.inputSummary)",
        actual: batch.inputs.map(\.description).joined(separator: ", "))
    }
    guard batch.count > 0 else {
      throw BackendCallError.shapeMismatch(call: call, expected: "a batch of at least 1 sample", actual: "0 samples")
    }
  }

  /// Runs `inputsCall` (an ABI 1.3 slot) with the batch's buffers when the backend has the slot,
  /// else `floatCall` (the ABI 1.0 twin) with the one float32 buffer every older backend takes.
  private func call<Slot>(
    _ name: String, _ batch: InputBatch, inputsSlot: Slot?,
    inputsCall: (Slot, UnsafePointer<UnsafeRawPointer>, UnsafeMutablePointer<CChar>, Int) throws -> entk_status,
    floatCall: (UnsafePointer<Float>, UnsafeMutablePointer<CChar>, Int) throws -> entk_status
  ) throws {
    try requireBatch(name, batch)
    if let slot = inputsSlot {
      try batch.buffers.withUnsafeBufferPointer { pointers in
        try check(name) { try inputsCall(slot, try address(pointers), $0, $1) }
      }
    } else {
      guard description.singleFloatInput != nil else {
        throw BackendCallError.notSingleFloatInput(call: name, inputs: description.inputSummary)
      }
      try check(name) { try floatCall(batch.buffers[0].assumingMemoryBound(to: Float.self), $0, $1) }
    }
  }

  /// The batch of `count` samples in a float buffer, for a model of one float32 input.
  private func floatBatch(_ call: String, _ inputs: UnsafeBufferPointer<Float>, count n: Int) throws -> InputBatch {
    guard let input = description.singleFloatInput else {
      throw BackendCallError.notSingleFloatInput(call: call, inputs: description.inputSummary)
    }
    try requireCount(call, "inputs", inputs.count, n * input.sampleElements)
    return InputBatch(input, floats: try address(inputs), count: n)
  }

  /// Logits (n × C) and, when `embedding` is given, penultimate features (n × E) for the batch.
  public func forward(
    _ batch: InputBatch, logits: UnsafeMutableBufferPointer<Float>, embedding: UnsafeMutableBufferPointer<Float>? = nil
  ) throws {
    let (d, n) = (description, batch.count)
    try requireCount("forward", "logits", logits.count, n * d.numOutputs)
    if let embedding { try requireCount("forward", "embedding", embedding.count, n * d.embeddingSize) }
    try call(
      "forward", batch, inputsSlot: library.api.forward_inputs,
      inputsCall: { slot, buffers, error, capacity in
        slot(handle, buffers, Int64(n), try address(logits), embedding?.baseAddress, error, capacity)
      },
      floatCall: { inputs, error, capacity in
        library.api.forward(handle, inputs, Int64(n), try address(logits), embedding?.baseAddress, error, capacity)
      })
  }

  /// `forward` for a model of one float32 input: inputs n × input size.
  public func forward(
    inputs: UnsafeBufferPointer<Float>, count n: Int, logits: UnsafeMutableBufferPointer<Float>,
    embedding: UnsafeMutableBufferPointer<Float>? = nil
  ) throws {
    try forward(try floatBatch("forward", inputs, count: n), logits: logits, embedding: embedding)
  }

  /// Convenience form of `forward` on arrays: returns logits (n × C) and, if asked, the
  /// embedding (n × E).
  public func forward(_ inputs: [Float], count n: Int, withEmbedding: Bool = false) throws -> (
    logits: [Float], embedding: [Float]?
  ) {
    try inputs.withUnsafeBufferPointer { input in
      try forward(try floatBatch("forward", input, count: n), withEmbedding: withEmbedding)
    }
  }

  /// Convenience form of `forward` returning arrays.
  public func forward(_ batch: InputBatch, withEmbedding: Bool = false) throws -> (
    logits: [Float], embedding: [Float]?
  ) {
    let n = batch.count
    var logits = [Float](repeating: 0, count: n * description.numOutputs)
    var embedding: [Float]? = withEmbedding ? [Float](repeating: 0, count: n * description.embeddingSize) : nil
    try logits.withUnsafeMutableBufferPointer { out in
      if var features = embedding {
        try features.withUnsafeMutableBufferPointer { try forward(batch, logits: out, embedding: $0) }
        embedding = features
      } else {
        try forward(batch, logits: out)
      }
    }
    return (logits, embedding)
  }

  /// Per-sample gradients (n × P): row i = Σ_c u[i,c] ∂f_c(x_i)/∂θ for cotangents u (n × C).
  public func vjp(
    _ batch: InputBatch, cotangents: UnsafeBufferPointer<Float>, gradients: UnsafeMutableBufferPointer<Float>
  ) throws {
    let (d, n) = (description, batch.count)
    try requireCount("vjp", "cotangents", cotangents.count, n * d.numOutputs)
    try requireCount("vjp", "gradients", gradients.count, n * d.numParams)
    try call(
      "vjp", batch, inputsSlot: library.api.vjp_inputs,
      inputsCall: { slot, buffers, error, capacity in
        slot(handle, buffers, Int64(n), try address(cotangents), try address(gradients), error, capacity)
      },
      floatCall: { inputs, error, capacity in
        library.api.vjp(handle, inputs, Int64(n), try address(cotangents), try address(gradients), error, capacity)
      })
  }

  /// `vjp` for a model of one float32 input.
  public func vjp(
    inputs: UnsafeBufferPointer<Float>, count n: Int, cotangents: UnsafeBufferPointer<Float>,
    gradients: UnsafeMutableBufferPointer<Float>
  ) throws {
    try vjp(try floatBatch("vjp", inputs, count: n), cotangents: cotangents, gradients: gradients)
  }

  /// Convenience form of `vjp` returning an array.
  public func vjp(_ batch: InputBatch, cotangents: [Float]) throws -> [Float] {
    var gradients = [Float](repeating: 0, count: batch.count * description.numParams)
    try cotangents.withUnsafeBufferPointer { u in
      try gradients.withUnsafeMutableBufferPointer { try vjp(batch, cotangents: u, gradients: $0) }
    }
    return gradients
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
  public func jacobian(_ batch: InputBatch, jacobians: UnsafeMutableBufferPointer<Float>) throws {
    let (d, n) = (description, batch.count)
    try requireCount("jacobian", "jacobians", jacobians.count, n * d.numOutputs * d.numParams)
    if library.api.jacobian != nil || library.api.jacobian_inputs != nil {
      try call(
        "jacobian", batch, inputsSlot: library.api.jacobian_inputs,
        inputsCall: { slot, buffers, error, capacity in
          slot(handle, buffers, Int64(n), try address(jacobians), error, capacity)
        },
        floatCall: { inputs, error, capacity in
          guard let native = library.api.jacobian else {
            throw BackendCallError.unsupported(backend: library.name, call: "jacobian")
          }
          return native(handle, inputs, Int64(n), try address(jacobians), error, capacity)
        })
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
        try rows.withUnsafeMutableBufferPointer { try vjp(batch, cotangents: u, gradients: $0) }
      }
      for i in 0..<n {
        let destination = UnsafeMutableBufferPointer(rebasing: jacobians[(i * c + k) * p..<(i * c + k + 1) * p])
        _ = destination.update(fromContentsOf: rows[i * p..<(i + 1) * p])
      }
    }
  }

  /// `jacobian` for a model of one float32 input.
  public func jacobian(inputs: UnsafeBufferPointer<Float>, count n: Int, jacobians: UnsafeMutableBufferPointer<Float>)
    throws
  {
    try jacobian(try floatBatch("jacobian", inputs, count: n), jacobians: jacobians)
  }

  /// Per-sample Jacobians with the factored groups as factors (n × `factorLayout.rowLength`, see
  /// `FactorLayout`), from the backend's ABI 1.1 `factored_jacobian`.
  public func factoredJacobian(_ batch: InputBatch, rows: UnsafeMutableBufferPointer<Float>) throws {
    guard let layout = factorLayout, let factored = library.api.factored_jacobian else {
      throw BackendCallError.unsupported(backend: library.name, call: "factored_jacobian")
    }
    let n = batch.count
    try requireCount("factored_jacobian", "rows", rows.count, n * layout.rowLength)
    try call(
      "factored_jacobian", batch, inputsSlot: library.api.factored_jacobian_inputs,
      inputsCall: { slot, buffers, error, capacity in
        slot(handle, buffers, Int64(n), try address(rows), error, capacity)
      },
      floatCall: { inputs, error, capacity in factored(handle, inputs, Int64(n), try address(rows), error, capacity) })
  }

  /// Per-sample vjp rows in the factored layout with the classes contracted (n ×
  /// `factorLayout.collapsingClasses().rowLength`): the backend's ABI 1.3 `factored_vjp_inputs`.
  public func factoredVJP(
    _ batch: InputBatch, cotangents: UnsafeBufferPointer<Float>, rows: UnsafeMutableBufferPointer<Float>
  ) throws {
    guard let layout = factorLayout, let slot = library.api.factored_vjp_inputs else {
      throw BackendCallError.unsupported(backend: library.name, call: "factored_vjp_inputs")
    }
    let n = batch.count
    try requireBatch("factored_vjp_inputs", batch)
    try requireCount("factored_vjp_inputs", "cotangents", cotangents.count, n * description.numOutputs)
    try requireCount("factored_vjp_inputs", "rows", rows.count, n * layout.collapsingClasses().rowLength)
    try batch.buffers.withUnsafeBufferPointer { pointers in
      try check("factored_vjp_inputs") {
        slot(handle, try address(pointers), Int64(n), try address(cotangents), try address(rows), $0, $1)
      }
    }
  }

  /// `factoredJacobian` for a model of one float32 input.
  public func factoredJacobian(
    inputs: UnsafeBufferPointer<Float>, count n: Int, rows: UnsafeMutableBufferPointer<Float>
  ) throws {
    try factoredJacobian(try floatBatch("factored_jacobian", inputs, count: n), rows: rows)
  }

  /// Convenience form of `factoredJacobian` returning an array.
  public func factoredJacobian(_ batch: InputBatch) throws -> [Float] {
    var out = [Float](repeating: 0, count: batch.count * (factorLayout?.rowLength ?? 0))
    try out.withUnsafeMutableBufferPointer { try factoredJacobian(batch, rows: $0) }
    return out
  }

  /// Convenience form of `factoredJacobian` on arrays.
  public func factoredJacobian(_ inputs: [Float], count n: Int) throws -> [Float] {
    var out = [Float](repeating: 0, count: n * (factorLayout?.rowLength ?? 0))
    try inputs.withUnsafeBufferPointer { input in
      try out.withUnsafeMutableBufferPointer { try factoredJacobian(inputs: input, count: n, rows: $0) }
    }
    return out
  }

  /// Convenience form of `jacobian` returning an array.
  public func jacobian(_ batch: InputBatch) throws -> [Float] {
    var out = [Float](repeating: 0, count: batch.count * description.numOutputs * description.numParams)
    try out.withUnsafeMutableBufferPointer { try jacobian(batch, jacobians: $0) }
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

  /// Trains in place with the backend's `train` call on `batch` (n samples) and n labels.
  ///
  /// `progress` receives each epoch's JSON event and returns false to stop.
  public func train(
    _ batch: InputBatch, labels: [Int64], options: String?, progress: @escaping (String) -> Bool
  ) throws {
    guard let train = library.api.train else {
      throw BackendCallError.unsupported(backend: library.name, call: "train")
    }
    guard labels.count == batch.count else {
      throw BackendCallError.shapeMismatch(
        call: "train", expected: "\(batch.count) labels", actual: "\(labels.count)")
    }
    try requireBatch("train", batch)
    let n = labels.count
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
    let status = try labels.withUnsafeBufferPointer { y in
      try buffer.withUnsafeMutableBufferPointer { message in
        if let trainInputs = library.api.train_inputs {
          return try batch.buffers.withUnsafeBufferPointer { pointers in
            trainInputs(
              handle, try address(pointers), try address(y), Int64(n), options, callback, context.toOpaque(),
              try address(message), message.count)
          }
        }
        guard description.singleFloatInput != nil else {
          throw BackendCallError.notSingleFloatInput(call: "train", inputs: description.inputSummary)
        }
        return train(
          handle, batch.buffers[0].assumingMemoryBound(to: Float.self), try address(y), Int64(n), options, callback,
          context.toOpaque(), try address(message), message.count)
      }
    }
    try Self.check(status, library: library, call: "train", buffer: buffer)
  }

  /// `train` for a model of one float32 input: inputs n × input size.
  public func train(
    inputs: [Float], labels: [Int64], options: String?, progress: @escaping (String) -> Bool
  ) throws {
    try inputs.withUnsafeBufferPointer { x in
      try train(
        try floatBatch("train", x, count: labels.count), labels: labels, options: options, progress: progress)
    }
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
    let api = library.api
    // One zeroed sample per input, so every pointer is valid; n = 0 says there are none.
    let storage = d.inputs.map { UnsafeMutableRawPointer.allocate(byteCount: max($0.sampleBytes, 8), alignment: 8) }
    defer {
      for buffer in storage { buffer.deallocate() }
    }
    for (buffer, input) in zip(storage, d.inputs) {
      buffer.initializeMemory(as: UInt8.self, repeating: 0, count: max(input.sampleBytes, 8))
    }
    let inputs = UnsafeMutablePointer<UnsafeRawPointer>.allocate(capacity: storage.count)
    inputs.initialize(from: storage.map { UnsafeRawPointer($0) }, count: storage.count)
    defer { inputs.deallocate() }
    let input = inputs[0].assumingMemoryBound(to: Float.self)
    var output = [Float](repeating: 0, count: d.numOutputs * max(d.numParams, 1))
    var cotangent = [Float](repeating: 0, count: d.numOutputs)
    var calls: [(String, (UnsafeMutablePointer<CChar>, Int) -> entk_status)] = []
    if let forward = api.forward_inputs {
      calls.append(("forward_inputs", { [self] in forward(handle, inputs, 0, &output, nil, $0, $1) }))
    }
    if let vjp = api.vjp_inputs {
      calls.append(("vjp_inputs", { [self] in vjp(handle, inputs, 0, &cotangent, &output, $0, $1) }))
    }
    if let jacobian = api.jacobian_inputs {
      calls.append(("jacobian_inputs", { [self] in jacobian(handle, inputs, 0, &output, $0, $1) }))
    }
    if let factored = api.factored_jacobian_inputs {
      calls.append(("factored_jacobian_inputs", { [self] in factored(handle, inputs, 0, &output, $0, $1) }))
    }
    calls += [
      ("forward", { [self] in api.forward(handle, input, 0, &output, nil, $0, $1) }),
      ("vjp", { [self] in api.vjp(handle, input, 0, &cotangent, &output, $0, $1) }),
    ]
    if let jacobian = api.jacobian {
      calls.append(("jacobian", { [self] in jacobian(handle, input, 0, &output, $0, $1) }))
    }
    if let factored = api.factored_jacobian {
      calls.append(("factored_jacobian", { [self] in factored(handle, input, 0, &output, $0, $1) }))
    }
    return refusals(calls, condition: "with n = 0")
  }

  /// Runs each call, which must fail with an invalid-argument status; describes each that did not.
  private func refusals(_ calls: [(String, (UnsafeMutablePointer<CChar>, Int) -> entk_status)], condition: String)
    -> [String]
  {
    calls.compactMap { name, call in
      do {
        try check(name, call)
        return "\(name) \(condition) returned OK"
      } catch BackendCallError.failed(_, _, let status, _) where status == .invalidArgument {
        return nil
      } catch {
        return "\(name) \(condition): expected an invalid-argument status, got: \(error)"
      }
    }
  }

  /// Calls the ABI 1.0 slots that take inputs with a float buffer, for a model whose inputs are not
  /// one float32 input.
  ///
  /// forward, vjp and, when present, jacobian and factored_jacobian get one sample's worth of
  /// float zeros; each must fail with an invalid-argument status. Returns each call that did not.
  public func probeLegacySlots() -> [String] {
    let d = description
    let api = library.api
    var input = [Float](repeating: 0, count: d.inputs.map(\.sampleBytes).reduce(0, +) / 4 + 16)
    var output = [Float](repeating: 0, count: d.numOutputs * max(d.numParams, 1))
    var cotangent = [Float](repeating: 0, count: d.numOutputs)
    var calls: [(String, (UnsafeMutablePointer<CChar>, Int) -> entk_status)] = [
      ("forward", { [self] in api.forward(handle, &input, 1, &output, nil, $0, $1) }),
      ("vjp", { [self] in api.vjp(handle, &input, 1, &cotangent, &output, $0, $1) }),
    ]
    if let jacobian = api.jacobian {
      calls.append(("jacobian", { [self] in jacobian(handle, &input, 1, &output, $0, $1) }))
    }
    if let factored = api.factored_jacobian, let layout = factorLayout {
      output = [Float](repeating: 0, count: max(output.count, layout.rowLength))
      calls.append(("factored_jacobian", { [self] in factored(handle, &input, 1, &output, $0, $1) }))
    }
    return refusals(calls, condition: "with a float buffer for \(d.inputSummary)")
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
