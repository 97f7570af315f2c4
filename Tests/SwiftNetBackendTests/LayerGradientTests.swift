import BackendLoader
import Foundation
import Testing

/// Every layer type's gradients against central finite differences, coordinate by coordinate.
///
/// Each case puts the layer under test between a parameterised layer before it (so the layer's
/// input gradient is checked through that layer's weight gradients) and a dense head; shapes
/// are odd on purpose. Models start from the seeded (PyTorch-scale) initialisation, then every
/// parameter is nudged by seeded noise so BatchNorm's affine parameters are not at their trivial
/// initial values.
@Suite struct LayerGradientTests {
  struct Case: CustomStringConvertible, Sendable {
    let description: String
    let inputShape: [Int]
    let layers: String
  }

  static let spatialInput = [2, 7, 5]
  static func spatial(_ layer: String) -> String {
    """
    [{"type": "conv2d", "out_channels": 3, "kernel_size": 3, "padding": 1}, \(layer),
     {"type": "flatten"}, {"type": "dense", "out_features": 3}]
    """
  }
  static func flat(_ layer: String) -> String {
    """
    [{"type": "dense", "out_features": 5}, \(layer), {"type": "dense", "out_features": 3}]
    """
  }

  static let cases: [Case] = [
    Case(description: "dense with bias", inputShape: [7], layers: flat(#"{"type": "dense", "out_features": 4}"#)),
    Case(
      description: "dense without bias", inputShape: [7],
      layers: flat(#"{"type": "dense", "out_features": 4, "bias": false}"#)),
    Case(
      description: "conv2d with bias", inputShape: spatialInput,
      layers: spatial(#"{"type": "conv2d", "out_channels": 4, "kernel_size": 3}"#)),
    Case(
      description: "conv2d without bias, stride, padding, dilation, groups", inputShape: spatialInput,
      layers: spatial(
        #"{"type": "conv2d", "out_channels": 6, "kernel_size": [3, 2], "stride": [2, 1], "padding": [1, 2], "dilation": [1, 2], "groups": 3, "bias": false}"#
      )),
    Case(
      description: "maxpool2d", inputShape: spatialInput,
      layers: spatial(#"{"type": "maxpool2d", "kernel_size": [3, 2], "stride": 2, "padding": 1}"#)),
    Case(
      description: "avgpool2d", inputShape: spatialInput,
      layers: spatial(#"{"type": "avgpool2d", "kernel_size": 3, "stride": [2, 1], "padding": 1}"#)),
    Case(
      description: "avgpool2d without padding in the count", inputShape: spatialInput,
      layers: spatial(#"{"type": "avgpool2d", "kernel_size": 2, "padding": 1, "count_include_pad": false}"#)),
    Case(
      description: "globalavgpool", inputShape: spatialInput,
      layers:
        #"[{"type": "conv2d", "out_channels": 3, "kernel_size": 3}, {"type": "globalavgpool"}, {"type": "dense", "out_features": 3}]"#
    ),
    Case(description: "flatten", inputShape: spatialInput, layers: spatial(#"{"type": "flatten"}"#)),
    Case(
      description: "batchnorm2d", inputShape: spatialInput, layers: spatial(#"{"type": "batchnorm2d", "eps": 0.01}"#)),
    Case(description: "relu", inputShape: [7], layers: flat(#"{"type": "relu"}"#)),
    Case(description: "leakyrelu", inputShape: [7], layers: flat(#"{"type": "leakyrelu", "negative_slope": 0.2}"#)),
    Case(description: "tanh", inputShape: [7], layers: flat(#"{"type": "tanh"}"#)),
    Case(description: "sigmoid", inputShape: [7], layers: flat(#"{"type": "sigmoid"}"#)),
    Case(description: "gelu", inputShape: [7], layers: flat(#"{"type": "gelu"}"#)),
    Case(description: "softplus", inputShape: [7], layers: flat(#"{"type": "softplus", "beta": 2, "threshold": 3}"#)),
    Case(
      description: "residual with identity shortcut", inputShape: spatialInput,
      layers: spatial(
        #"{"type": "residual", "body": [{"type": "conv2d", "out_channels": 3, "kernel_size": 3, "padding": 1}, {"type": "tanh"}]}"#
      )),
    Case(
      description: "residual with projection shortcut", inputShape: spatialInput,
      layers: spatial(
        #"{"type": "residual", "body": [{"type": "conv2d", "out_channels": 4, "kernel_size": 3, "stride": 2, "padding": 1}, {"type": "batchnorm2d"}, {"type": "gelu"}], "shortcut": [{"type": "conv2d", "out_channels": 4, "kernel_size": 1, "stride": 2, "bias": false}]}"#
      )),
  ]

  @Test(arguments: cases) func gradientsMatchCentralDifferences(_ testCase: Case) throws {
    let path = try SwiftNetTestModels.architecture(
      inputShape: testCase.inputShape, layers: testCase.layers, label: testCase.description)
    let model = try SwiftNetTestModels.library().open(model: path, options: #"{"init_seed": 5}"#)
    let d = model.description
    let n = 2
    let noise = SwiftNetTestModels.seededValues(d.numParams, seed: 11)
    let theta = zip(try model.parameters(), noise).map { $0 + 0.1 * $1 }
    try model.setParameters(theta)
    let inputs = SwiftNetTestModels.seededValues(n * d.inputSize, seed: 12)
    let cotangents = SwiftNetTestModels.seededValues(n * d.numOutputs, seed: 13)
    let gradients = try model.vjp(inputs, count: n, cotangents: cotangents)

    func objective(_ parameters: [Float]) throws -> Double {
      try model.setParameters(parameters)
      let logits = try model.forward(inputs, count: n).logits
      return zip(logits, cotangents).reduce(0) { $0 + Double($1.0) * Double($1.1) }
    }
    let h: Float = 1e-3
    var worst = 0.0
    var worstAt = ""
    for p in 0..<d.numParams {
      var plus = theta
      var minus = theta
      plus[p] += h
      minus[p] -= h
      // The step actually taken in float32, not the nominal h.
      let numeric = (try objective(plus) - objective(minus)) / Double(plus[p] - minus[p])
      let analytic = (0..<n).reduce(0.0) { $0 + Double(gradients[$1 * d.numParams + p]) }
      let error = abs(numeric - analytic) / (2e-3 + 1e-2 * abs(analytic))
      if error > worst {
        worst = error
        worstAt = "parameter \(p): finite difference \(numeric), vjp \(analytic)"
      }
    }
    #expect(worst <= 1, "\(testCase.description): \(worstAt)")
  }
}
