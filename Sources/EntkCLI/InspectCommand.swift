import ArgumentParser
import BackendLoader
import Foundation

struct InspectCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "inspect",
    abstract: "Open a model with a backend and print its shapes and parameter groups.",
    discussion: """
      With a backend that has the per-layer factor calls (ABI 1.1), each group is shown as \
      factored (a and Δ lengths) or plain, with the backend's reason when it gives one (ABI 1.2).
      """)

  @OptionGroup var model: ModelOptions
  @Flag(help: "Print JSON on stdout.") var json = false

  struct Report: Encodable {
    var backend: String
    var backendPath: String
    var model: String
    var description: ModelDescription
    var capabilities: [String]
    /// Floats per sample of a `factored_jacobian` row, when the backend has factor calls.
    var factoredRowLength: Int?
    /// The groups that factor (ABI 1.1), with a's and Δ's lengths.
    var factoredGroups: [FactoredGroup]?
    /// The groups that do not, with the backend's reason when it gives one (ABI 1.2).
    var plainGroups: [PlainGroup]?
  }

  struct FactoredGroup: Encodable {
    var name: String
    var inputDim: Int
    var outputDim: Int
    /// R, the outer products summed (ABI 1.3); 1 for one.
    var terms: Int
    /// Whether each a_r is one-hot, stored as its index (an embedding table read at token ids).
    var oneHot: Bool
  }

  struct PlainGroup: Encodable {
    var name: String
    var reason: String?
  }

  /// The unfactored groups of `opened`, nil without factor calls.
  private func plainGroups(_ opened: BackendModel) -> [PlainGroup]? {
    guard let layout = opened.factorLayout else { return nil }
    return zip(opened.description.parameterGroups.indices, layout.segments).compactMap { index, segment in
      guard case .plain = segment else { return nil }
      return PlainGroup(name: opened.description.parameterGroups[index].name, reason: layout.plainReasons[index])
    }
  }

  /// The factored groups of `opened`, nil without factor calls.
  private func factoredGroups(_ opened: BackendModel) -> [FactoredGroup]? {
    guard let layout = opened.factorLayout else { return nil }
    return zip(opened.description.parameterGroups, layout.segments).compactMap { group, segment in
      switch segment {
      case .plain: return nil
      case .factored(let input, let deltas):
        return FactoredGroup(
          name: group.name, inputDim: input.count, outputDim: deltas.count / layout.numOutputs, terms: 1, oneHot: false)
      case .summed(let summed):
        return FactoredGroup(
          name: group.name, inputDim: summed.inputDim, outputDim: summed.outputDim, terms: summed.terms,
          oneHot: summed.oneHot)
      }
    }
  }

  func run() throws {
    let opened = try model.open()
    let d = opened.description
    if json {
      try printJSON(
        Report(
          backend: opened.library.name, backendPath: opened.library.url.path, model: model.model, description: d,
          capabilities: opened.library.capabilities, factoredRowLength: opened.factorLayout?.rowLength,
          factoredGroups: factoredGroups(opened), plainGroups: plainGroups(opened)))
      return
    }
    let factored = Dictionary((factoredGroups(opened) ?? []).map { ($0.name, $0) }) { first, _ in first }
    let plain = Dictionary((plainGroups(opened) ?? []).map { ($0.name, $0.reason) }) { first, _ in first }
    print("backend     \(opened.library.name) \(opened.library.version) (\(opened.library.url.path))")
    print("model       \(model.model)")
    if d.singleFloatInput != nil {
      print("input       \(d.inputShape) per sample")
    } else {
      for input in d.inputs { print("input       \(input.name): \(input.elementType) \(input.shape) per sample") }
    }
    print("outputs     C = \(d.numOutputs)")
    print("parameters  P = \(d.numParams)")
    print("embedding   E = \(d.embeddingSize)")
    print("groups      \(d.parameterGroups.count)")
    for group in d.parameterGroups {
      let factor =
        factored[group.name].map {
          $0.terms == 1 && !$0.oneHot
            ? "  factored a \($0.inputDim) × Δ \($0.outputDim)"
            : "  factored Σ of \($0.terms) terms a \($0.inputDim)\($0.oneHot ? " (one-hot)" : "") × Δ \($0.outputDim)"
        }
        ?? plain[group.name].map { "  plain" + ($0.map { ": \($0)" } ?? "") } ?? ""
      print(
        "  \(group.name.padding(toLength: max(24, group.name.count), withPad: " ", startingAt: 0))  offset \(group.offset)  count \(group.count)\(factor)"
      )
    }
    if let layout = opened.factorLayout {
      print("factors     \(layout.rowLength) floats per sample instead of C·P = \(d.numOutputs * d.numParams)")
    }
  }
}

/// The `--backend` / `--model` / `--options` trio every model-using command shares.
struct ModelOptions: ParsableArguments {
  @Option(help: "Backend name (as in libentk-backend-NAME.so) or path to a backend library.")
  var backend: String

  @Option(help: "Model file or folder, as the backend documents.")
  var model: String

  @Option(help: "Backend-specific options as a JSON object.")
  var options: String?

  func open() throws -> BackendModel {
    try BackendLibrary.load(backend).open(model: model, options: options)
  }
}
