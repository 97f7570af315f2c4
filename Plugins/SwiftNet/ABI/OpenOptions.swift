/// The `options_json` of `open`: `init_seed` (an integer ≥ 0), when given, initialises every
/// parameter from the seed instead of reading tensor files: how `entk train --arch` starts from
/// an architecture alone.
struct OpenOptions {
  var initSeed: UInt64?

  init(json: String?) throws(SwiftNetError) {
    let fields = try OptionsObject(json)
    if fields.fields["init_seed"] != nil {
      initSeed = UInt64(try fields.int("init_seed", default: 0, range: 0...Int.max))
    }
    try fields.rejectUnknown(known: ["init_seed"])
  }
}
