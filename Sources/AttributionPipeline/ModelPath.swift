import Foundation

/// How a model is recorded in `kernel.json` and plans: by its absolute path, so a tile command
/// or a later read finds it from any folder.
public enum ModelPath {
  /// An existing path made absolute; anything else (a backend's non-path model name) unchanged.
  public static func absolute(_ path: String) -> String {
    FileManager.default.fileExists(atPath: path) ? URL(fileURLWithPath: path).standardizedFileURL.path : path
  }
}
