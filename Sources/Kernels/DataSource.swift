import Foundation

/// Where one set of samples comes from, as a user names it: one file (`.npy`, `.csv` or `.npz`),
/// or one `.npy`/`.csv` file per model input (`input_ids=ids.npy attention_mask=mask.npy`).
public enum DataSource: Sendable, Equatable, CustomStringConvertible {
  case file(URL)
  /// Files by model input name, in the order given.
  case named([(name: String, file: URL)])

  /// Parses the values of a repeatable option (`--train`): a single path, or `NAME=PATH` pairs.
  public init(arguments: [String]) throws(SampleDataError) {
    guard !arguments.isEmpty else { throw .malformedSource(arguments, reason: "no file given") }
    let pairs = arguments.map { argument -> (String, String)? in
      guard let equals = argument.firstIndex(of: "=") else { return nil }
      return (String(argument[..<equals]), String(argument[argument.index(after: equals)...]))
    }
    if arguments.count == 1, pairs[0] == nil {
      self = .file(URL(fileURLWithPath: arguments[0]))
      return
    }
    var named: [(name: String, file: URL)] = []
    for (argument, pair) in zip(arguments, pairs) {
      guard let (name, path) = pair, !name.isEmpty, !path.isEmpty else {
        throw .malformedSource(
          arguments, reason: "'\(argument)': several files must each be NAME=PATH, NAME a model input")
      }
      guard !named.contains(where: { $0.name == name }) else {
        throw .malformedSource(arguments, reason: "input '\(name)' is given twice")
      }
      named.append((name, URL(fileURLWithPath: path)))
    }
    self = .named(named)
  }

  /// The source as option values again, with absolute paths (for the commands of a plan).
  public var absoluteArguments: [String] {
    switch self {
    case .file(let url): return [url.standardizedFileURL.path]
    case .named(let files): return files.map { "\($0.name)=\($0.file.standardizedFileURL.path)" }
    }
  }

  /// As `kernel.json` records it and messages name it: the path, or `NAME=PATH,NAME=PATH`.
  public var description: String {
    switch self {
    case .file(let url): return url.path
    case .named(let files): return files.map { "\($0.name)=\($0.file.path)" }.joined(separator: ",")
    }
  }

  public static func == (a: DataSource, b: DataSource) -> Bool { a.description == b.description }
}
