/// Option spellings that changed when every subcommand took one vocabulary (entk 0.2): still
/// accepted for one release, rewritten to the current spelling before parsing, with a warning
/// on stderr naming the new one (docs/cli.md, "Deprecated spellings").
enum DeprecatedSpellings {
  /// The commands that train a model and take labelled data files.
  private static let training = ["train", "evaluate subsets", "evaluate mislabel", "evaluate remove"]

  /// (commands, old spelling, current spelling).
  static let renamed: [(commands: [String], old: String, new: String)] = [
    (training, "--train-x", "--train"),
    (training, "--train-y", "--train-labels"),
    (training, "--test-x", "--test"),
    (training, "--test-y", "--test-labels"),
    (training, "--arch", "--model"),
    (training, "--lr", "--learning-rate"),
  ]

  /// The options of `check-backend` that take a value, to tell its old positional backend from
  /// an option's value.
  private static let checkBackendValueOptions: Set = ["--backend", "--model", "--options", "--data"]

  /// `arguments` (without the executable) with every old spelling replaced; `warn` receives one
  /// line per replacement.
  static func rewrite(_ arguments: [String], warn: (String) -> Void) -> [String] {
    let commandWords = arguments.prefix { !$0.hasPrefix("-") }.prefix(2)
    let command = commandWords.first == "evaluate" ? commandWords.joined(separator: " ") : commandWords.first ?? ""
    let start = command.split(separator: " ").count
    var result = Array(arguments.prefix(start))
    var index = start
    var positionalBackendSeen = false
    while index < arguments.count {
      let argument = arguments[index]
      index += 1
      if argument == "--" {
        result += arguments[(index - 1)...]
        break
      }
      if let rename = renamed.first(where: { $0.commands.contains(command) && matches(argument, $0.old) }) {
        warn(
          "entk \(command): \(rename.old) is deprecated, use \(rename.new) (the old spelling goes in the next release)")
        result.append(rename.new + argument.dropFirst(rename.old.count))
        continue
      }
      if command == "check-backend" {
        if checkBackendValueOptions.contains(argument), index < arguments.count {
          result += [argument, arguments[index]]
          index += 1
          continue
        }
        if !argument.hasPrefix("-") && !positionalBackendSeen {
          positionalBackendSeen = true
          warn(
            "entk check-backend: the backend as a positional argument is deprecated, use --backend \(argument) (the old form goes in the next release)"
          )
          result += ["--backend", argument]
          continue
        }
      }
      result.append(argument)
    }
    return result
  }

  /// Whether `argument` is `option` or `option=value`.
  private static func matches(_ argument: String, _ option: String) -> Bool {
    argument == option || argument.hasPrefix(option + "=")
  }
}
