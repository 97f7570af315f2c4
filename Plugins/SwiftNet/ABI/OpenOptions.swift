/// The `options_json` of `open`.
///
/// - `init_seed` (an integer ≥ 0), when given, initialises every parameter from the seed instead
///   of reading tensor files: how `entk train --arch` starts from an architecture alone.
/// - `conv_factors`: `"auto"` (default), `"always"` or `"never"` (`ConvolutionFactoring`).
struct OpenOptions {
  var initSeed: UInt64?
  var convolutionFactoring = ConvolutionFactoring.auto

  init(json: String?) throws(SwiftNetError) {
    let fields = try OptionsObject(json)
    if fields.fields["init_seed"] != nil {
      initSeed = UInt64(try fields.int("init_seed", default: 0, range: 0...Int.max))
    }
    let factoring = try fields.string("conv_factors", default: ConvolutionFactoring.auto.rawValue)
    guard let chosen = ConvolutionFactoring(rawValue: factoring) else {
      let known = ConvolutionFactoring.allCases.map { "'\($0.rawValue)'" }.joined(separator: ", ")
      throw .invalidOptions("'conv_factors' must be one of \(known), got '\(factoring)'")
    }
    convolutionFactoring = chosen
    try fields.rejectUnknown(known: ["init_seed", "conv_factors"])
  }
}
