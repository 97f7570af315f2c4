import ArgumentParser
import Kernels

// The enumerations options take, parsed by their raw values: an unknown value is a usage error
// that lists the valid ones.

extension LossGradientMethod: ExpressibleByArgument {}
