import ArgumentParser
import AttributionPipeline
import Kernels
import Surrogate

// The enumerations options take, parsed by their raw values: an unknown value is a usage error
// that lists the valid ones.

extension LossGradientMethod: ExpressibleByArgument {}
extension KernelKind: ExpressibleByArgument {}
extension ProjectionDistribution: ExpressibleByArgument {}
extension KernelNormalization: ExpressibleByArgument {}
extension FactorUse: ExpressibleByArgument {}
extension ClassWeighting: ExpressibleByArgument {}
extension FitTarget: ExpressibleByArgument {}
