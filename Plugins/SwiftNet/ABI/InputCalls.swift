import CEntkABI

/// The ABI 1.3 slots: `input_info` and the `*_inputs` twins of the calls that take inputs.
///
/// A swiftnet model has exactly one input, float32, of the architecture's input shape, named
/// "input" (what hosts call the input of a backend without these slots), so each twin reads
/// inputs[0] and runs its ABI 1.0 call. `factored_jacobian_inputs` and `factored_vjp_inputs` are the
/// only calls that return sums of terms (convolutions over their positions).
extension BackendCalls {
  /// The one float32 buffer of `inputs`; the header leaves the array pointer itself unannotated,
  /// so NULL is refused like any bad argument.
  static func floatInput(_ inputs: UnsafePointer<UnsafeRawPointer>?) throws(SwiftNetError) -> UnsafePointer<Float> {
    guard let inputs else { throw .invalidArgument("inputs is NULL; pass one buffer, the float32 input") }
    return inputs[0].assumingMemoryBound(to: Float.self)
  }

  static let inputInfo:
    @convention(c) (OpaquePointer, Int64, UnsafeMutablePointer<entk_input_info>, UnsafeMutablePointer<CChar>?, Int) ->
      entk_status = { model, index, info, error, capacity in
        report(error, capacity) { () throws(SwiftNetError) in
          guard index == 0 else { throw .invalidArgument("input \(index) out of range 0..<1 (one input, 'input')") }
          // Every field came in ABI 1.3: a caller that knows the struct knows them all.
          let needed = structSize(\entk_input_info.shape)
          guard info.pointee.struct_size >= needed else {
            throw .invalidArgument(
              "entk_input_info.struct_size is \(info.pointee.struct_size), expected at least \(needed)")
          }
          let shape = OpenModel.from(model).network.architecture.inputShape
          info.pointee.name = staticCString("input")
          info.pointee.element_type = Int32(ENTK_ELEMENT_FLOAT32.rawValue)
          info.pointee.rank = Int32(shape.count)
          withUnsafeMutableBytes(of: &info.pointee.shape) { raw in
            let dimensions = raw.bindMemory(to: Int64.self)
            for index in dimensions.indices { dimensions[index] = index < shape.count ? Int64(shape[index]) : 0 }
          }
        }
      }

  static let forwardInputs:
    @convention(c) (
      OpaquePointer, UnsafePointer<UnsafeRawPointer>?, Int64, UnsafeMutablePointer<Float>,
      UnsafeMutablePointer<Float>?, UnsafeMutablePointer<CChar>?, Int
    ) -> entk_status = { model, inputs, n, logits, embedding, error, capacity in
      report(error, capacity) { () throws(SwiftNetError) in
        try runForward(model, try floatInput(inputs), n, logits, embedding)
      }
    }

  static let vjpInputs:
    @convention(c) (
      OpaquePointer, UnsafePointer<UnsafeRawPointer>?, Int64, UnsafePointer<Float>, UnsafeMutablePointer<Float>,
      UnsafeMutablePointer<CChar>?, Int
    ) -> entk_status = { model, inputs, n, cotangents, gradients, error, capacity in
      report(error, capacity) { () throws(SwiftNetError) in
        try runVJP(model, try floatInput(inputs), n, cotangents, gradients)
      }
    }

  static let jacobianInputs:
    @convention(c) (
      OpaquePointer, UnsafePointer<UnsafeRawPointer>?, Int64, UnsafeMutablePointer<Float>,
      UnsafeMutablePointer<CChar>?, Int
    ) -> entk_status = { model, inputs, n, jacobians, error, capacity in
      report(error, capacity) { () throws(SwiftNetError) in
        try runJacobian(model, try floatInput(inputs), n, jacobians)
      }
    }

  /// Rows in the layout of `group_factor` answered with the whole ABI 1.3 struct: sums of terms included.
  static let factoredJacobianInputs:
    @convention(c) (
      OpaquePointer, UnsafePointer<UnsafeRawPointer>?, Int64, UnsafeMutablePointer<Float>,
      UnsafeMutablePointer<CChar>?, Int
    ) -> entk_status = { model, inputs, n, out, error, capacity in
      report(error, capacity) { () throws(SwiftNetError) in
        let input = try floatInput(inputs)
        let network = OpenModel.from(model).network
        network.factoredJacobian(input, count: try checkBatch(n, network), out: out, singleTerm: false)
      }
    }

  static let factoredVJPInputs:
    @convention(c) (
      OpaquePointer, UnsafePointer<UnsafeRawPointer>?, Int64, UnsafePointer<Float>, UnsafeMutablePointer<Float>,
      UnsafeMutablePointer<CChar>?, Int
    ) -> entk_status = { model, inputs, n, cotangents, out, error, capacity in
      report(error, capacity) { () throws(SwiftNetError) in
        let input = try floatInput(inputs)
        let network = OpenModel.from(model).network
        network.factoredVJP(input, count: try checkBatch(n, network), cotangents: cotangents, out: out)
      }
    }

  static let trainInputs:
    @convention(c) (
      OpaquePointer, UnsafePointer<UnsafeRawPointer>?, UnsafePointer<Int64>, Int64, UnsafePointer<CChar>?,
      entk_progress_fn?, UnsafeMutableRawPointer?, UnsafeMutablePointer<CChar>?, Int
    ) -> entk_status = { model, inputs, labels, n, options, progress, context, error, capacity in
      report(error, capacity) { () throws(SwiftNetError) in
        try runTrain(model, try floatInput(inputs), labels, n, options, progress, context)
      }
    }
}
