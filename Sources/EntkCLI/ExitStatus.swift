import ArrayIO
import AttributionPipeline
import BackendLoader
import Foundation
import Kernels
import Reporter
import Surrogate

/// Exit codes, documented in `entk --help` and the README.
enum ExitStatus: Int32 {
  case success = 0
  case checkFailed = 1
  case usage = 2
  case badInput = 3
  case backend = 4
  case internalError = 5

  init(classifying error: Error) {
    switch error {
    case KernelError.projection, KernelError.badArgument, KernelError.tileOutOfRange,
      KernelError.memoryTooSmall, KernelError.allocationFailed, OutputPathError.empty:
      self = .usage
    case is NPYError, is CSVError, is NPZError, is SampleDataError, is TrainDataError, is KernelError,
      is OutputPathError:
      self = .badInput
    case is SurrogateError, is AttributeError, is ReporterError, is EnsembleError, is EvaluateError, is TextLinesError:
      self = .badInput
    case BackendCallError.shapeMismatch, BackendCallError.notSingleFloatInput: self = .badInput
    case is BackendLoadError, is BackendCallError: self = .backend
    default: self = .internalError
    }
  }
}
