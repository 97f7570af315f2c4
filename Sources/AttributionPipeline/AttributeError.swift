/// Problems with an attribution's inputs that the lower layers do not report themselves.
public enum AttributeError: Error, CustomStringConvertible {
  /// A folder given as a kernel that has no `kernel.json`: not written by `entk kernel`.
  case notAKernelFolder(path: String)
  /// A request that cannot be carried out as given (what it lacks or combines wrongly).
  case invalidRequest(reason: String)
  /// A kernel folder from `entk kernel` whose kernel is not complete (tiles still missing).
  case kernelFolderIncomplete(path: String)
  /// A kernel of a shape the surrogate cannot use (e.g. the full eNTK's C×C blocks).
  case unsupportedKernel(path: String, shape: [Int], reason: String)
  /// The train and test kernels do not belong together.
  case kernelsDisagree(reason: String)
  /// Logits are needed but neither a file nor a backend and data to compute them were given.
  case missingLogits(role: String, needed: String)
  /// A data or logits file has the wrong number of rows.
  case rowCount(path: String, expected: Int, actual: Int, meaning: String)
  /// A texts file (`--train-text`, `--test-text`) with the wrong number of lines.
  case textCount(path: String, expected: Int, actual: Int, meaning: String)
  /// `--baseline` without a backend and model to compute loss gradients with.
  case missingBaselineInputs(needed: String)

  public var description: String {
    switch self {
    case .notAKernelFolder(let path):
      return
        "\(path): not a kernel folder: kernel.json missing (give a folder written by `entk kernel`, or a .npy file)"
    case .invalidRequest(let reason):
      return "cannot attribute: \(reason)"
    case .kernelFolderIncomplete(let path):
      return "\(path): kernel folder is not complete (run `entk merge \(path)` once all tiles are done)"
    case .unsupportedKernel(let path, let shape, let reason):
      return "\(path): kernel of shape \(shape) cannot be used: \(reason)"
    case .kernelsDisagree(let reason):
      return "train and test kernels do not belong together: \(reason)"
    case .missingLogits(let role, let needed):
      return
        "the network's \(role) logits are needed: give --\(role)-logits FILE, or --backend, --model and --\(role) so entk computes them (\(needed))"
    case .rowCount(let path, let expected, let actual, let meaning):
      return "\(path): \(actual) rows, expected \(expected) (\(meaning))"
    case .textCount(let path, let expected, let actual, let meaning):
      return "\(path): \(actual) lines, expected \(expected) (\(meaning))"
    case .missingBaselineInputs(let needed):
      return
        "--baseline computes loss gradients through the model: give --backend and --model (or kernel folders that record them) (\(needed))"
    }
  }
}
