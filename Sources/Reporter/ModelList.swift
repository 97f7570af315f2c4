/// How the report's header names a bundle's models: every one, with the folder they share said once,
/// and, past `fullCount` models, the first and last few with the count of those between.
struct ModelList {
  let models: [Manifest.ModelRecord]
  /// Up to this many models are all named.
  var fullCount = 8
  /// With more, this many are named at each end.
  var endCount = 3

  /// "model PATH (backend B)", or "ensemble of K models in DIR/: a, b, … (backend B)".
  var text: String {
    guard let first = models.first else { return "" }
    let backends = Set(models.map { $0.backend ?? "" })
    let sharedBackend = backends.count == 1 ? first.backend.map { " (backend \($0))" } ?? "" : ""
    if models.count == 1 { return "model \(first.path)\(sharedBackend)" }
    let folders = Set(models.map { parent(of: $0.path) })
    let folder = folders.count == 1 ? folders.first ?? "" : ""
    let names = models.map { model in
      String(model.path.dropFirst(folder.count))
        + (sharedBackend.isEmpty ? " (backend \(model.backend ?? "none"))" : "")
    }
    let shown =
      names.count <= fullCount
      ? names
      : names.prefix(endCount) + ["… \(names.count - 2 * endCount) more …"] + names.suffix(endCount)
    return "ensemble of \(models.count) models\(folder.isEmpty ? "" : " in \(folder)"): "
      + shown.joined(separator: ", ") + sharedBackend
  }

  /// The path up to and including its last "/", or "" without one.
  private func parent(of path: String) -> String {
    guard let slash = path.lastIndex(of: "/") else { return "" }
    return String(path[...slash])
  }
}
