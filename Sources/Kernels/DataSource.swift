import ArrayIO
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

  /// One array of a source.
  public struct NamedArray: Sendable {
    /// The model input it names; nil for a plain file.
    public var name: String?
    /// The file it was read from (an archive for an entry of a `.npz`).
    public var file: URL
    public var array: NPYArray
    /// As messages name it: the file, or `archive.npz[NAME]` for an archive's entry.
    public var label: String
  }

  /// Reads every array of the source, in its order: a `.npz` archive's entries by name, a plain
  /// file's one array, or each NAME=FILE.
  public func arrays() throws -> [NamedArray] {
    switch self {
    case .file(let url) where url.pathExtension.lowercased() == "npz":
      return try NPZFile.read(url).map {
        NamedArray(name: $0.name, file: url, array: $0.array, label: "\(url.path)[\($0.name)]")
      }
    case .file(let url):
      return [NamedArray(name: nil, file: url, array: try ArrayFile.read(url), label: url.path)]
    case .named(let files):
      return try files.map {
        NamedArray(name: $0.name, file: $0.file, array: try ArrayFile.read($0.file), label: $0.file.path)
      }
    }
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
