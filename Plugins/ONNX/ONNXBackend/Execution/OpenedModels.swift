import Foundation

/// Models this process opened, by file (path, size, modification time) and options.
///
/// Opening the same model again (one per host thread) copies it instead of parsing and probing
/// it again. Holds at most `capacity` models; the oldest goes first.
final class OpenedModels: @unchecked Sendable {
  static let shared = OpenedModels()
  static let capacity = 2

  /// A file as it is now: a changed file (size or modification time) is a different key.
  struct Key: Hashable {
    let file: String
    let size: Int
    let modified: Date
    let options: ModelOptions

    /// Nil when the file's attributes cannot be read (the model is then not kept).
    init?(file: String, options: ModelOptions) {
      guard let attributes = try? FileManager.default.attributesOfItem(atPath: file),
        let size = attributes[.size] as? Int, let modified = attributes[.modificationDate] as? Date
      else { return nil }
      self.file = file
      self.size = size
      self.modified = modified
      self.options = options
    }
  }

  private let lock = NSLock()
  private var models: [(key: Key, model: ONNXModel)] = []

  func model(for key: Key) -> ONNXModel? {
    lock.lock()
    defer { lock.unlock() }
    return models.first { $0.key == key }?.model
  }

  func keep(_ model: ONNXModel, for key: Key) {
    lock.lock()
    defer { lock.unlock() }
    models.removeAll { $0.key == key }
    models.append((key, model))
    if models.count > Self.capacity { models.removeFirst() }
  }
}
