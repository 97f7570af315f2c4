import CEntkABI
import Foundation

/// The C functions of the table.
///
/// Each validates its arguments, runs the Swift call, and turns a thrown `SwiftNetError` into a status and a
/// message in the caller's buffer: nothing reachable from here may trap.
enum BackendCalls {
  /// Runs `body`, reporting a thrown error through the ABI's status and error buffer.
  static func report(_ buffer: UnsafeMutablePointer<CChar>?, _ capacity: Int, _ body: () throws(SwiftNetError) -> Void)
    -> entk_status
  {
    do {
      try body()
      return ENTK_OK
    } catch {
      write(error.description, to: buffer, capacity: capacity)
      return error.status
    }
  }

  /// Copies `message` NUL-terminated into the caller's buffer, truncated on a UTF-8 boundary.
  static func write(_ message: String, to buffer: UnsafeMutablePointer<CChar>?, capacity: Int) {
    guard let buffer, capacity > 0 else { return }
    var bytes = Array(message.utf8.prefix(capacity - 1))
    if bytes.count == capacity - 1 {
      while let last = bytes.last, last & 0xC0 == 0x80 { bytes.removeLast() }
      if let last = bytes.last, last & 0x80 != 0 { bytes.removeLast() }
    }
    for (index, byte) in bytes.enumerated() { buffer[index] = CChar(bitPattern: byte) }
    buffer[bytes.count] = 0
  }

  /// Bytes of a C struct up to and including `field`: the header's ENTK_STRUCT_SIZE.
  static func structSize<Root, Field>(_ field: KeyPath<Root, Field>) -> Int {
    (MemoryLayout<Root>.offset(of: field) ?? Int.max) + MemoryLayout<Field>.size
  }

  static func checkBatch(_ n: Int64, _ network: Network) throws(SwiftNetError) -> Int {
    guard n >= 1 else { throw .invalidArgument("batch size n must be >= 1, got \(n)") }
    let rowSize = max(
      network.inputSize, network.outputCount * network.parameterCount, network.factoredLayout.rowSize,
      network.singleTermLayout.rowSize)
    let (count, overflow) = Int(n).multipliedReportingOverflow(by: rowSize)
    guard !overflow, count < Int.max / 8 else { throw .tooLarge("a batch of \(n) samples") }
    return Int(n)
  }

  static let open:
    @convention(c) (
      UnsafePointer<CChar>, UnsafePointer<CChar>?, UnsafeMutablePointer<OpaquePointer?>, UnsafeMutablePointer<CChar>?,
      Int
    ) -> entk_status = { path, options, outModel, error, capacity in
      report(error, capacity) { () throws(SwiftNetError) in
        let parsed = try OpenOptions(json: options.map { String(cString: $0) })
        let network = try ModelFolder.open(
          String(cString: path), initSeed: parsed.initSeed, convolutionFactoring: parsed.convolutionFactoring)
        outModel.pointee = OpenModel(network: network).retainedHandle()
      }
    }

  static let close: @convention(c) (OpaquePointer?) -> Void = { model in
    if let model { OpenModel.release(model) }
  }

  static let describe:
    @convention(c) (OpaquePointer, UnsafeMutablePointer<entk_model_info>, UnsafeMutablePointer<CChar>?, Int) ->
      entk_status = {
        model, info, error, capacity in
        report(error, capacity) { () throws(SwiftNetError) in
          // The header's struct_size rule: the ABI 1.0 fields always, `num_inputs` when the struct has it.
          let needed = structSize(\entk_model_info.num_param_groups)
          guard info.pointee.struct_size >= needed else {
            throw .invalidArgument(
              "entk_model_info.struct_size is \(info.pointee.struct_size), expected at least \(needed)")
          }
          let network = OpenModel.from(model).network
          let shape = network.architecture.inputShape
          info.pointee.input_rank = Int32(shape.count)
          withUnsafeMutableBytes(of: &info.pointee.input_shape) { raw in
            let dimensions = raw.bindMemory(to: Int64.self)
            for index in dimensions.indices { dimensions[index] = index < shape.count ? Int64(shape[index]) : 0 }
          }
          info.pointee.num_outputs = Int64(network.outputCount)
          info.pointee.num_params = Int64(network.parameterCount)
          info.pointee.embedding_size = Int64(network.embeddingSize)
          info.pointee.num_param_groups = Int64(network.parameterGroups.count)
          if info.pointee.struct_size >= structSize(\entk_model_info.num_inputs) { info.pointee.num_inputs = 1 }
        }
      }

  static let paramGroup:
    @convention(c) (OpaquePointer, Int64, UnsafeMutablePointer<entk_param_group>, UnsafeMutablePointer<CChar>?, Int) ->
      entk_status = {
        model, index, group, error, capacity in
        report(error, capacity) { () throws(SwiftNetError) in
          let open = OpenModel.from(model)
          let groups = open.network.parameterGroups
          guard index >= 0, index < Int64(groups.count) else {
            throw .invalidArgument("parameter group \(index) out of range 0..<\(groups.count)")
          }
          let needed = structSize(\entk_param_group.count)
          guard group.pointee.struct_size >= needed else {
            throw .invalidArgument(
              "entk_param_group.struct_size is \(group.pointee.struct_size), expected at least \(needed)")
          }
          group.pointee.name = UnsafePointer(open.groupNames[Int(index)])
          group.pointee.offset = Int64(groups[Int(index)].offset)
          group.pointee.count = Int64(groups[Int(index)].count)
        }
      }

  static let forward:
    @convention(c) (
      OpaquePointer, UnsafePointer<Float>, Int64, UnsafeMutablePointer<Float>, UnsafeMutablePointer<Float>?,
      UnsafeMutablePointer<CChar>?, Int
    ) -> entk_status = { model, inputs, n, logits, embedding, error, capacity in
      report(error, capacity) { () throws(SwiftNetError) in try runForward(model, inputs, n, logits, embedding) }
    }

  static let vjp:
    @convention(c) (
      OpaquePointer, UnsafePointer<Float>, Int64, UnsafePointer<Float>, UnsafeMutablePointer<Float>,
      UnsafeMutablePointer<CChar>?, Int
    ) -> entk_status = { model, inputs, n, cotangents, gradients, error, capacity in
      report(error, capacity) { () throws(SwiftNetError) in try runVJP(model, inputs, n, cotangents, gradients) }
    }

  static let jacobian:
    @convention(c) (
      OpaquePointer, UnsafePointer<Float>, Int64, UnsafeMutablePointer<Float>, UnsafeMutablePointer<CChar>?, Int
    ) -> entk_status = { model, inputs, n, jacobians, error, capacity in
      report(error, capacity) { () throws(SwiftNetError) in try runJacobian(model, inputs, n, jacobians) }
    }

  static func runForward(
    _ model: OpaquePointer, _ inputs: UnsafePointer<Float>, _ n: Int64, _ logits: UnsafeMutablePointer<Float>,
    _ embedding: UnsafeMutablePointer<Float>?
  ) throws(SwiftNetError) {
    let network = OpenModel.from(model).network
    let count = try checkBatch(n, network)
    if embedding != nil && network.embeddingSize == 0 {
      throw .invalidArgument("this model has no embedding (E = 0, no dense layer); pass NULL for embedding")
    }
    network.forward(inputs, count: count, logits: logits, embedding: embedding)
  }

  static func runVJP(
    _ model: OpaquePointer, _ inputs: UnsafePointer<Float>, _ n: Int64, _ cotangents: UnsafePointer<Float>,
    _ gradients: UnsafeMutablePointer<Float>
  ) throws(SwiftNetError) {
    let network = OpenModel.from(model).network
    network.vjp(inputs, count: try checkBatch(n, network), cotangents: cotangents, gradients: gradients)
  }

  static func runJacobian(
    _ model: OpaquePointer, _ inputs: UnsafePointer<Float>, _ n: Int64, _ jacobians: UnsafeMutablePointer<Float>
  ) throws(SwiftNetError) {
    let network = OpenModel.from(model).network
    network.jacobian(inputs, count: try checkBatch(n, network), jacobians: jacobians)
  }

  static let groupFactor:
    @convention(c) (OpaquePointer, Int64, UnsafeMutablePointer<entk_group_factor>, UnsafeMutablePointer<CChar>?, Int)
      -> entk_status = { model, index, factor, error, capacity in
        report(error, capacity) { () throws(SwiftNetError) in
          let open = OpenModel.from(model)
          let groups = open.network.parameterGroups
          guard index >= 0, index < Int64(groups.count) else {
            throw .invalidArgument("parameter group \(index) out of range 0..<\(groups.count)")
          }
          // The ABI 1.1 fields; `reason` (1.2) and `terms`/`one_hot` (1.3) only when the caller's
          // struct has them, so an older host's shorter struct is served too.
          let needed = structSize(\entk_group_factor.output_dim)
          let size = factor.pointee.struct_size
          guard size >= needed else {
            throw .invalidArgument("entk_group_factor.struct_size is \(size), expected at least \(needed)")
          }
          // A caller whose struct ends before `terms` predates sums of terms: it gets the groups of
          // the ABI 1.1 slot `factored_jacobian`, with sums plain.
          let knowsTerms = size >= structSize(\entk_group_factor.terms)
          let group = knowsTerms ? groups[Int(index)] : open.network.singleTermGroups[Int(index)]
          factor.pointee.factored = group.factor == nil ? 0 : 1
          factor.pointee.input_dim = Int64(group.factor?.inputDim ?? 0)
          factor.pointee.output_dim = Int64(group.factor?.outputDim ?? 0)
          if size >= structSize(\entk_group_factor.reason) {
            factor.pointee.reason = group.factor == nil ? UnsafePointer(open.plainReasons[Int(index)]) : nil
          }
          if knowsTerms { factor.pointee.terms = Int64(group.factor?.terms ?? 0) }
          // Every a_r is a patch or [x; 1], never one-hot.
          if size >= structSize(\entk_group_factor.one_hot) { factor.pointee.one_hot = 0 }
        }
      }

  /// The ABI 1.1 slot: its callers predate sums of terms, so convolutions come plain.
  static let factoredJacobian:
    @convention(c) (
      OpaquePointer, UnsafePointer<Float>, Int64, UnsafeMutablePointer<Float>, UnsafeMutablePointer<CChar>?, Int
    ) -> entk_status = { model, inputs, n, out, error, capacity in
      report(error, capacity) { () throws(SwiftNetError) in
        let network = OpenModel.from(model).network
        network.factoredJacobian(inputs, count: try checkBatch(n, network), out: out, singleTerm: true)
      }
    }

  static let getParams:
    @convention(c) (OpaquePointer, UnsafeMutablePointer<Float>, UnsafeMutablePointer<CChar>?, Int) -> entk_status = {
      model, params, error, capacity in
      report(error, capacity) { () throws(SwiftNetError) in
        let network = OpenModel.from(model).network
        network.weights.parameters.withBase { params.update(from: $0, count: network.parameterCount) }
      }
    }

  static let setParams:
    @convention(c) (OpaquePointer, UnsafePointer<Float>, UnsafeMutablePointer<CChar>?, Int) -> entk_status = {
      model, params, error, capacity in
      report(error, capacity) { () throws(SwiftNetError) in
        let network = OpenModel.from(model).network
        let values = Array(UnsafeBufferPointer(start: params, count: network.parameterCount))
        if let bad = values.firstIndex(where: { !$0.isFinite }) {
          throw .invalidArgument("parameter \(bad) is \(values[bad]); parameters must be finite")
        }
        network.weights.parameters = values
      }
    }

  static let train:
    @convention(c) (
      OpaquePointer, UnsafePointer<Float>, UnsafePointer<Int64>, Int64, UnsafePointer<CChar>?, entk_progress_fn?,
      UnsafeMutableRawPointer?,
      UnsafeMutablePointer<CChar>?, Int
    ) -> entk_status = { model, inputs, labels, n, options, progress, context, error, capacity in
      report(error, capacity) { () throws(SwiftNetError) in
        try runTrain(model, inputs, labels, n, options, progress, context)
      }
    }

  static func runTrain(
    _ model: OpaquePointer, _ inputs: UnsafePointer<Float>, _ labels: UnsafePointer<Int64>, _ n: Int64,
    _ options: UnsafePointer<CChar>?, _ progress: entk_progress_fn?, _ context: UnsafeMutableRawPointer?
  ) throws(SwiftNetError) {
    let network = OpenModel.from(model).network
    let count = try checkBatch(n, network)
    let parsed = try TrainingOptions(json: options.map { String(cString: $0) })
    try Trainer(options: parsed).train(network, inputs: inputs, labels: labels, count: count) { event in
      guard let progress else { return true }
      return event.withCString { progress(context, $0) } == 0
    }
  }

  static let save:
    @convention(c) (OpaquePointer, UnsafePointer<CChar>, UnsafeMutablePointer<CChar>?, Int) -> entk_status = {
      model, path, error, capacity in
      report(error, capacity) { () throws(SwiftNetError) in
        try ModelFolder.save(OpenModel.from(model).network, to: String(cString: path))
      }
    }
}
