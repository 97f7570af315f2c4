import CEntkABI

/// The backend's function table: built once, never mutated, alive for the life of the process (hosts never unload a backend).
///
/// `nonisolated(unsafe)` because the imported C struct holds pointers and so is not `Sendable`; it is a
/// constant, so sharing it across threads is safe.
nonisolated(unsafe) private let table: UnsafeMutablePointer<entk_backend_api> = {
  let table = UnsafeMutablePointer<entk_backend_api>.allocate(capacity: 1)
  table.initialize(
    to: entk_backend_api(
      struct_size: BackendCalls.structSize(\entk_backend_api.factored_vjp_inputs),
      abi_version_major: UInt32(ENTK_ABI_VERSION_MAJOR), abi_version_minor: 3,
      name: staticCString("swiftnet"), version: staticCString("0.1.0"),
      description: staticCString(
        "native Swift MLPs, CNNs and small ResNets (JSON architecture + .npy weights), trainable"),
      open: BackendCalls.open, close: BackendCalls.close, describe: BackendCalls.describe,
      param_group: BackendCalls.paramGroup, forward: BackendCalls.forward, vjp: BackendCalls.vjp,
      jacobian: BackendCalls.jacobian, get_params: BackendCalls.getParams, set_params: BackendCalls.setParams,
      train: BackendCalls.train, save: BackendCalls.save, group_factor: BackendCalls.groupFactor,
      factored_jacobian: BackendCalls.factoredJacobian,
      input_info: BackendCalls.inputInfo, forward_inputs: BackendCalls.forwardInputs,
      vjp_inputs: BackendCalls.vjpInputs, jacobian_inputs: BackendCalls.jacobianInputs,
      factored_jacobian_inputs: BackendCalls.factoredJacobianInputs, train_inputs: BackendCalls.trainInputs,
      factored_vjp_inputs: BackendCalls.factoredVJPInputs))
  return table
}()

/// A static string as the C string the ABI hands out (lives for the life of the process).
func staticCString(_ text: StaticString) -> UnsafePointer<CChar> {
  UnsafeRawPointer(text.utf8Start).assumingMemoryBound(to: CChar.self)
}

/// The ABI 1 entry point: returns the constant function table.
///
/// Idempotent and thread-safe (Swift initialises the global once).
@_cdecl("entk_backend_v1")
public func entkBackendV1() -> UnsafePointer<entk_backend_api>? {
  UnsafePointer(table)
}
