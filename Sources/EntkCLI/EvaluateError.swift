/// Problems of `entk evaluate` that the lower layers do not report themselves.
enum EvaluateError: Error, CustomStringConvertible {
  /// A folder without a readable `subsets.json`.
  case notARetrainFolder(path: String, reason: String)
  /// `entk evaluate subsets` into a folder planned with other settings.
  case settingsMismatch(path: String, field: String)
  /// A data file changed since the subsets were planned.
  case dataChanged(path: String)
  /// The retrain command could not start or exited with a non-zero status.
  case retrainCommandFailed(subset: Int, command: String, status: Int32)
  /// Training finished without the model file or folder it should have written.
  case retrainProducedNoModel(subset: Int, path: String)
  /// Subsets whose retraining is not finished.
  case unfinishedSubsets(path: String, missing: [Int])
  /// A subset index outside 0..<K.
  case subsetOutOfRange(subset: Int, count: Int)
  /// A bundle that does not match the retrained models' data.
  case bundleMismatch(bundle: String, reason: String)

  var description: String {
    switch self {
    case .notARetrainFolder(let path, let reason):
      return "\(path): not a folder of retrained subsets: \(reason)"
    case .settingsMismatch(let path, let field):
      return
        "\(path) was planned with a different \(field); use another folder, or remove this one to plan it anew"
    case .dataChanged(let path):
      return "\(path): its SHA-256 differs from the one recorded when the subsets were planned (the data changed)"
    case .retrainCommandFailed(let subset, let command, let status):
      return
        "subset \(subset): the retrain command \(status < 0 ? "could not start" : "exited with status \(status)"): \(command)"
    case .retrainProducedNoModel(let subset, let path):
      return "subset \(subset): training finished but wrote no model at \(path)"
    case .unfinishedSubsets(let path, let missing):
      let shown = missing.prefix(10).map(String.init).joined(separator: ", ")
      return
        "\(path): \(missing.count) subset(s) not retrained yet (\(shown)\(missing.count > 10 ? ", …" : "")); run `entk evaluate retrain \(path)`"
    case .subsetOutOfRange(let subset, let count):
      return "--subset \(subset) is outside 0..<\(count) (the planned subsets)"
    case .bundleMismatch(let bundle, let reason):
      return "\(bundle): does not match the retrained subsets: \(reason)"
    }
  }
}
