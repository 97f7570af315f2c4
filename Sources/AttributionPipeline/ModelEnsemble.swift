import BackendLoader
import Foundation

/// The models given by a repeated `--model`: checkpoints or independently trained models of one
/// architecture, opened with the same backend and options.
///
/// Their kernels are averaged (docs/method.md, "Ensembles") and their logits too, which is only
/// meaningful when every model maps the same inputs to the same classes through the same number
/// of parameters; `open` refuses anything else before any kernel is computed.
struct ModelEnsemble {
  /// The model paths, in the order given.
  let paths: [String]
  /// The description they share.
  let description: ModelDescription

  /// Opens every model with `backend` and checks that their descriptions agree.
  /// - Throws: `EnsembleError.modelsDiffer` naming the first field in which a model differs from
  ///   the first one; the backend's errors for a model it cannot open.
  static func open(backend: String, models: [String], options: String?) throws -> ModelEnsemble {
    let library = try BackendLibrary.load(backend)
    var first: ModelDescription?
    for path in models {
      let description = try library.open(model: path, options: options).description
      guard let reference = first else {
        first = description
        continue
      }
      if let (field, expected, actual) = difference(reference, description) {
        throw EnsembleError.modelsDiffer(
          first: models[0], other: path, field: field, expected: expected, actual: actual)
      }
    }
    guard let first else { throw EnsembleError.noModels }
    return ModelEnsemble(paths: models, description: first)
  }

  /// The first field (input shape, classes, parameters, embedding size, parameter groups' sizes)
  /// in which `b` differs from `a`, with both values.
  static func difference(_ a: ModelDescription, _ b: ModelDescription) -> (String, String, String)? {
    let fields: [(String, String, String)] = [
      ("input shape", "\(a.inputShape)", "\(b.inputShape)"),
      ("classes (C)", "\(a.numOutputs)", "\(b.numOutputs)"),
      ("parameters (P)", "\(a.numParams)", "\(b.numParams)"),
      ("embedding size", "\(a.embeddingSize)", "\(b.embeddingSize)"),
      ("parameter group sizes", "\(a.parameterGroups.map(\.count))", "\(b.parameterGroups.map(\.count))"),
    ]
    return fields.first { $0.1 != $0.2 }
  }
}

/// Problems with the models of an ensemble.
public enum EnsembleError: Error, CustomStringConvertible {
  case noModels
  case modelsDiffer(first: String, other: String, field: String, expected: String, actual: String)

  public var description: String {
    switch self {
    case .noModels:
      return "no --model given"
    case .modelsDiffer(let first, let other, let field, let expected, let actual):
      return
        "\(other): \(field) \(actual) differs from \(expected) of the first model \(first); an ensemble's models must share one architecture (same inputs, classes and parameters)"
    }
  }
}
