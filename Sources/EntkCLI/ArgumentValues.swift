import ArgumentParser
import AttributionPipeline
import Kernels
import Surrogate

// The enumerations options take, parsed by their raw values: an unknown value is a usage error
// that lists the valid ones.

extension LossGradientMethod: ExpressibleByArgument {}

/// The attribution methods whose scores a bundle holds: the kGLM's, and the baselines'.
enum AttributionMethod: String, CaseIterable, ExpressibleByArgument {
  case kglm
  case gradDot = "grad-dot"
  case gradCos = "grad-cos"
}

extension KernelKind: ExpressibleByArgument {}
extension ProjectionDistribution: ExpressibleByArgument {}
extension KernelNormalization: ExpressibleByArgument {}
extension FactorUse: ExpressibleByArgument {}
extension ClassWeighting: ExpressibleByArgument {}
extension FitTarget: ExpressibleByArgument {}
