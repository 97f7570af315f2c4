import CEntkABI

/// The ABI v1 entry point: returns the backend's constant function table.
@_cdecl("entk_backend_v1")
public func entkBackendV1() -> UnsafePointer<entk_backend_api>? {
  UnsafePointer(BackendTable.table)
}

/// The function table and the adapters between C arguments and `ONNXModel`.
///
/// Every adapter validates its arguments and turns errors into a status and message; nothing traps.
enum BackendTable {
  /// Built once (Swift globals initialise lazily and thread-safely), never freed: hosts keep
  /// backends loaded for the life of the process.
  nonisolated(unsafe) static let table: UnsafeMutablePointer<entk_backend_api> = {
    let pointer = UnsafeMutablePointer<entk_backend_api>.allocate(capacity: 1)
    pointer.initialize(
      to: entk_backend_api(
        struct_size: structSize(\entk_backend_api.factored_vjp_inputs),
        abi_version_major: UInt32(ENTK_ABI_VERSION_MAJOR), abi_version_minor: 3,
        name: cString("onnx"), version: cString("0.1.0"),
        description: cString(
          "ONNX models (IR >= 3, opset >= 6) parsed with protobuf-c; per-sample gradients by reverse mode"),
        open: open, close: close, describe: describe, param_group: paramGroup, forward: forward, vjp: vjp,
        jacobian: jacobian, get_params: getParams, set_params: setParams, train: nil, save: nil,
        group_factor: groupFactor, factored_jacobian: factoredJacobian,
        input_info: inputInfo, forward_inputs: forwardInputs, vjp_inputs: vjpInputs, jacobian_inputs: jacobianInputs,
        factored_jacobian_inputs: factoredJacobianInputs, train_inputs: nil, factored_vjp_inputs: factoredVJPInputs))
    return pointer
  }()

  private static func cString(_ s: StaticString) -> UnsafePointer<CChar> {
    UnsafeRawPointer(s.utf8Start).assumingMemoryBound(to: CChar.self)
  }

  /// Writes the error's message (truncated on a UTF-8 boundary, NUL-terminated) into the
  /// caller's buffer and returns its status.
  static func report(_ failure: ONNXError, _ buffer: UnsafeMutablePointer<CChar>?, _ capacity: Int) -> entk_status {
    guard let buffer, capacity > 0 else { return failure.status }
    var bytes = Array(failure.description.utf8)
    if bytes.count > capacity - 1 {
      var end = capacity - 1
      while end > 0, bytes[end] & 0xC0 == 0x80 { end -= 1 }
      bytes = Array(bytes[..<end])
    }
    for (i, b) in bytes.enumerated() { buffer[i] = CChar(bitPattern: b) }
    buffer[bytes.count] = 0
    return failure.status
  }

  /// Runs `body` on the model behind `model`, mapping errors to statuses.
  private static func call(
    _ model: OpaquePointer?, _ buffer: UnsafeMutablePointer<CChar>?, _ capacity: Int,
    _ body: (ONNXModel, ModelHandle) throws(ONNXError) -> Void
  ) -> entk_status {
    guard let model else { return report(.invalidArgument("model is NULL"), buffer, capacity) }
    let handle = Unmanaged<ModelHandle>.fromOpaque(UnsafeRawPointer(model)).takeUnretainedValue()
    do {
      try body(handle.model, handle)
      return ENTK_OK
    } catch {
      return report(error, buffer, capacity)
    }
  }

  /// n × width as a checked buffer length.
  private static func length(_ n: Int64, _ width: Int) throws(ONNXError) -> Int {
    guard n >= 1 else { throw .invalidArgument("n must be >= 1, got \(n)") }
    let (product, overflow) = Int(n).multipliedReportingOverflow(by: width)
    guard !overflow, product < Int.max / 8 else { throw .invalidArgument("n = \(n) is too large") }
    return product
  }

  /// Bytes of `type` up to and including the field at `keyPath`: ENTK_STRUCT_SIZE in Swift.
  private static func structSize<T, F>(_ keyPath: KeyPath<T, F>) -> Int {
    (MemoryLayout<T>.offset(of: keyPath) ?? Int.max) + MemoryLayout<F>.size
  }

  static let open:
    @convention(c) (
      UnsafePointer<CChar>, UnsafePointer<CChar>?, UnsafeMutablePointer<OpaquePointer?>, UnsafeMutablePointer<CChar>?,
      Int
    ) -> entk_status = { path, options, out, buffer, capacity in
      do throws(ONNXError) {
        let parsed = try ModelOptions(json: options.map { String(cString: $0) })
        let model = try ONNXModel.open(path: String(cString: path), options: parsed)
        out.pointee = OpaquePointer(Unmanaged.passRetained(ModelHandle(model: model)).toOpaque())
        return ENTK_OK
      } catch {
        return report(error, buffer, capacity)
      }
    }

  static let close: @convention(c) (OpaquePointer?) -> Void = { model in
    guard let model else { return }
    Unmanaged<ModelHandle>.fromOpaque(UnsafeRawPointer(model)).release()
  }

  static let describe:
    @convention(c) (OpaquePointer, UnsafeMutablePointer<entk_model_info>, UnsafeMutablePointer<CChar>?, Int) ->
      entk_status = {
        model, info, buffer, capacity in
        call(model, buffer, capacity) { m, _ throws(ONNXError) in
          // The header's struct_size rule: every field written here is in ABI 1.0's struct.
          let needed = structSize(\entk_model_info.num_param_groups)
          guard info.pointee.struct_size >= needed else {
            throw .invalidArgument(
              "entk_model_info.struct_size is \(info.pointee.struct_size), expected at least \(needed)")
          }
          // input_rank and input_shape describe input 0 (the whole input of a one-input model).
          let first = m.inputs[0].shape
          info.pointee.input_rank = Int32(first.count)
          withUnsafeMutableBytes(of: &info.pointee.input_shape) { raw in
            let dims = raw.bindMemory(to: Int64.self)
            for i in 0..<dims.count { dims[i] = i < first.count ? Int64(first[i]) : 0 }
          }
          info.pointee.num_outputs = Int64(m.outputCount)
          info.pointee.num_params = Int64(m.parameterCount)
          info.pointee.embedding_size = Int64(m.embeddingSize)
          info.pointee.num_param_groups = Int64(m.parameterNames.count)
          if info.pointee.struct_size >= structSize(\entk_model_info.num_inputs) {
            info.pointee.num_inputs = Int64(m.inputs.count)
          }
        }
      }

  static let paramGroup:
    @convention(c) (OpaquePointer, Int64, UnsafeMutablePointer<entk_param_group>, UnsafeMutablePointer<CChar>?, Int) ->
      entk_status = { model, index, group, buffer, capacity in
        call(model, buffer, capacity) { m, handle throws(ONNXError) in
          guard index >= 0, index < Int64(handle.groupNames.count), let entry = m.parameterGroup(Int(index)) else {
            throw .invalidArgument("parameter group \(index) is out of range 0..<\(handle.groupNames.count)")
          }
          let needed = structSize(\entk_param_group.count)
          guard group.pointee.struct_size >= needed else {
            throw .invalidArgument(
              "entk_param_group.struct_size is \(group.pointee.struct_size), expected at least \(needed)")
          }
          group.pointee.name = UnsafePointer(handle.groupNames[Int(index)])
          group.pointee.offset = Int64(entry.offset)
          group.pointee.count = Int64(entry.count)
        }
      }

  static let groupFactor:
    @convention(c) (OpaquePointer, Int64, UnsafeMutablePointer<entk_group_factor>, UnsafeMutablePointer<CChar>?, Int) ->
      entk_status = { model, index, factor, buffer, capacity in
        call(model, buffer, capacity) { m, handle throws(ONNXError) in
          guard index >= 0, index < Int64(m.factors.count) else {
            throw .invalidArgument("parameter group \(index) is out of range 0..<\(m.factors.count)")
          }
          // The three fields came together in ABI 1.1: a caller that knows the struct knows them all.
          let needed = structSize(\entk_group_factor.output_dim)
          guard factor.pointee.struct_size >= needed else {
            throw .invalidArgument(
              "entk_group_factor.struct_size is \(factor.pointee.struct_size), expected at least \(needed)")
          }
          // A caller whose struct ends before `terms` predates sums of terms: it gets the layout of
          // the ABI 1.1 slot, with such groups plain.
          let knowsTerms = factor.pointee.struct_size >= structSize(\entk_group_factor.terms)
          let entry = m.layoutFactors(singleTerm: !knowsTerms)[Int(index)]
          factor.pointee.factored = entry == nil ? 0 : 1
          factor.pointee.input_dim = Int64(entry?.inputDim ?? 0)
          factor.pointee.output_dim = Int64(entry?.outputDim ?? 0)
          if factor.pointee.struct_size >= structSize(\entk_group_factor.reason) {
            factor.pointee.reason = UnsafePointer(handle.plainReasons[Int(index)])
          }
          if factor.pointee.struct_size >= structSize(\entk_group_factor.terms) {
            factor.pointee.terms = Int64(entry?.terms ?? 0)
          }
          if factor.pointee.struct_size >= structSize(\entk_group_factor.one_hot) {
            factor.pointee.one_hot = entry?.oneHot == true ? 1 : 0
          }
        }
      }

  /// The ABI 1.0 slots' one float buffer as the buffer list of the model's calls; an error naming
  /// the inputs for a model that is not exactly one float32 input.
  private static func floatBuffers(_ model: ONNXModel, _ inputs: UnsafePointer<Float>) throws(ONNXError)
    -> [UnsafeRawPointer]
  {
    _ = try model.singleFloatInputSize()
    return [UnsafeRawPointer(inputs)]
  }

  /// The ABI 1.3 slots' `inputs` (one pointer per model input) as a list.
  ///
  /// The header does not mark the array pointer itself _Nonnull (only its elements), so Swift sees
  /// it as optional: NULL is refused like any bad argument.
  private static func buffers(_ model: ONNXModel, _ inputs: UnsafePointer<UnsafeRawPointer>?) throws(ONNXError)
    -> [UnsafeRawPointer]
  {
    guard let inputs else { throw .invalidArgument("inputs is NULL; pass one buffer per input") }
    return (0..<model.inputs.count).map { inputs[$0] }
  }

  private static func runForward(
    _ m: ONNXModel, _ inputs: [UnsafeRawPointer], _ n: Int64, _ logits: UnsafeMutablePointer<Float>,
    _ embedding: UnsafeMutablePointer<Float>?
  ) throws(ONNXError) {
    if embedding != nil, m.embeddingSize == 0 {
      throw .invalidArgument("embedding must be NULL: the model has no embedding")
    }
    let logitCount = try length(n, m.outputCount)
    try m.forward(
      inputs, count: Int(n), logits: UnsafeMutableBufferPointer(start: logits, count: logitCount),
      embedding: embedding == nil
        ? nil : UnsafeMutableBufferPointer(start: embedding, count: try length(n, m.embeddingSize)))
  }

  private static func runVJP(
    _ m: ONNXModel, _ inputs: [UnsafeRawPointer], _ n: Int64, _ cotangents: UnsafePointer<Float>,
    _ gradients: UnsafeMutablePointer<Float>
  ) throws(ONNXError) {
    try m.vjp(
      inputs, count: Int(n), cotangents: UnsafeBufferPointer(start: cotangents, count: try length(n, m.outputCount)),
      gradients: UnsafeMutableBufferPointer(start: gradients, count: try length(n, m.parameterCount)))
  }

  private static func runJacobian(
    _ m: ONNXModel, _ inputs: [UnsafeRawPointer], _ n: Int64, _ jacobians: UnsafeMutablePointer<Float>
  ) throws(ONNXError) {
    try m.jacobian(
      inputs, count: Int(n),
      jacobians: UnsafeMutableBufferPointer(start: jacobians, count: try length(n, m.outputCount * m.parameterCount)))
  }

  /// `singleTerm` for the ABI 1.1 slot, whose callers predate groups of several terms.
  private static func runFactoredJacobian(
    _ m: ONNXModel, _ inputs: [UnsafeRawPointer], _ n: Int64, _ out: UnsafeMutablePointer<Float>, singleTerm: Bool
  ) throws(ONNXError) {
    let width = m.factoredRowSize(singleTerm: singleTerm)
    try m.factoredJacobian(
      inputs, count: Int(n), rows: UnsafeMutableBufferPointer(start: out, count: try length(n, width)),
      singleTerm: singleTerm)
  }

  static let forward:
    @convention(c) (
      OpaquePointer, UnsafePointer<Float>, Int64, UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>?,
      UnsafeMutablePointer<CChar>?, Int
    ) -> entk_status = { model, inputs, n, logits, embedding, buffer, capacity in
      call(model, buffer, capacity) { m, _ throws(ONNXError) in
        try runForward(m, try floatBuffers(m, inputs), n, logits, embedding)
      }
    }

  static let vjp:
    @convention(c) (
      OpaquePointer, UnsafePointer<Float>, Int64, UnsafePointer<Float>, UnsafeMutablePointer<Float>,
      UnsafeMutablePointer<CChar>?, Int
    ) -> entk_status = { model, inputs, n, cotangents, gradients, buffer, capacity in
      call(model, buffer, capacity) { m, _ throws(ONNXError) in
        try runVJP(m, try floatBuffers(m, inputs), n, cotangents, gradients)
      }
    }

  static let jacobian:
    @convention(c) (
      OpaquePointer, UnsafePointer<Float>, Int64, UnsafeMutablePointer<Float>, UnsafeMutablePointer<CChar>?, Int
    ) -> entk_status = { model, inputs, n, jacobians, buffer, capacity in
      call(model, buffer, capacity) { m, _ throws(ONNXError) in
        try runJacobian(m, try floatBuffers(m, inputs), n, jacobians)
      }
    }

  static let factoredJacobian:
    @convention(c) (
      OpaquePointer, UnsafePointer<Float>, Int64, UnsafeMutablePointer<Float>, UnsafeMutablePointer<CChar>?, Int
    ) -> entk_status = { model, inputs, n, out, buffer, capacity in
      call(model, buffer, capacity) { m, _ throws(ONNXError) in
        try runFactoredJacobian(m, try floatBuffers(m, inputs), n, out, singleTerm: true)
      }
    }

  static let inputInfo:
    @convention(c) (OpaquePointer, Int64, UnsafeMutablePointer<entk_input_info>, UnsafeMutablePointer<CChar>?, Int) ->
      entk_status = { model, index, info, buffer, capacity in
        call(model, buffer, capacity) { m, handle throws(ONNXError) in
          guard index >= 0, index < Int64(m.inputs.count) else {
            throw .invalidArgument("input \(index) is out of range 0..<\(m.inputs.count)")
          }
          // Every field came in ABI 1.3: a caller that knows the struct knows them all.
          let needed = structSize(\entk_input_info.shape)
          guard info.pointee.struct_size >= needed else {
            throw .invalidArgument(
              "entk_input_info.struct_size is \(info.pointee.struct_size), expected at least \(needed)")
          }
          let input = m.inputs[Int(index)]
          info.pointee.name = UnsafePointer(handle.inputNames[Int(index)])
          info.pointee.element_type = input.elementType.rawValue
          info.pointee.rank = Int32(input.shape.count)
          withUnsafeMutableBytes(of: &info.pointee.shape) { raw in
            let dims = raw.bindMemory(to: Int64.self)
            for i in 0..<dims.count { dims[i] = i < input.shape.count ? Int64(input.shape[i]) : 0 }
          }
        }
      }

  static let forwardInputs:
    @convention(c) (
      OpaquePointer, UnsafePointer<UnsafeRawPointer>?, Int64, UnsafeMutablePointer<Float>,
      UnsafeMutablePointer<Float>?, UnsafeMutablePointer<CChar>?, Int
    ) -> entk_status = { model, inputs, n, logits, embedding, buffer, capacity in
      call(model, buffer, capacity) { m, _ throws(ONNXError) in
        try runForward(m, try buffers(m, inputs), n, logits, embedding)
      }
    }

  static let vjpInputs:
    @convention(c) (
      OpaquePointer, UnsafePointer<UnsafeRawPointer>?, Int64, UnsafePointer<Float>, UnsafeMutablePointer<Float>,
      UnsafeMutablePointer<CChar>?, Int
    ) -> entk_status = { model, inputs, n, cotangents, gradients, buffer, capacity in
      call(model, buffer, capacity) { m, _ throws(ONNXError) in
        try runVJP(m, try buffers(m, inputs), n, cotangents, gradients)
      }
    }

  static let jacobianInputs:
    @convention(c) (
      OpaquePointer, UnsafePointer<UnsafeRawPointer>?, Int64, UnsafeMutablePointer<Float>,
      UnsafeMutablePointer<CChar>?, Int
    ) -> entk_status = { model, inputs, n, jacobians, buffer, capacity in
      call(model, buffer, capacity) { m, _ throws(ONNXError) in
        try runJacobian(m, try buffers(m, inputs), n, jacobians)
      }
    }

  static let factoredJacobianInputs:
    @convention(c) (
      OpaquePointer, UnsafePointer<UnsafeRawPointer>?, Int64, UnsafeMutablePointer<Float>,
      UnsafeMutablePointer<CChar>?, Int
    ) -> entk_status = { model, inputs, n, out, buffer, capacity in
      call(model, buffer, capacity) { m, _ throws(ONNXError) in
        try runFactoredJacobian(m, try buffers(m, inputs), n, out, singleTerm: false)
      }
    }

  static let factoredVJPInputs:
    @convention(c) (
      OpaquePointer, UnsafePointer<UnsafeRawPointer>?, Int64, UnsafePointer<Float>, UnsafeMutablePointer<Float>,
      UnsafeMutablePointer<CChar>?, Int
    ) -> entk_status = { model, inputs, n, cotangents, out, buffer, capacity in
      call(model, buffer, capacity) { m, _ throws(ONNXError) in
        let buffers = try buffers(m, inputs)
        let rows = try length(n, m.factoredRowSize(classes: 1))
        try m.factoredVJP(
          buffers, count: Int(n),
          cotangents: UnsafeBufferPointer(start: cotangents, count: try length(n, m.outputCount)),
          rows: UnsafeMutableBufferPointer(start: out, count: rows))
      }
    }

  static let getParams:
    @convention(c) (OpaquePointer, UnsafeMutablePointer<Float>, UnsafeMutablePointer<CChar>?, Int) -> entk_status = {
      model, params, buffer, capacity in
      call(model, buffer, capacity) { m, _ throws(ONNXError) in
        let values = m.parameters()
        guard values.count == m.parameterCount else { throw .invalidModel("parameter count changed") }
        for i in 0..<values.count { params[i] = values[i] }
      }
    }

  static let setParams:
    @convention(c) (OpaquePointer, UnsafePointer<Float>, UnsafeMutablePointer<CChar>?, Int) -> entk_status = {
      model, params, buffer, capacity in
      call(model, buffer, capacity) { m, _ throws(ONNXError) in
        try m.setParameters(UnsafeBufferPointer(start: params, count: m.parameterCount))
      }
    }
}
