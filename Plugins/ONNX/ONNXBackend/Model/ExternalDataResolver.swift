import Foundation

/// Reads tensor bytes stored outside the model file (`data_location = EXTERNAL`), only from
/// files inside the model's folder.
///
/// A model file is untrusted input: its `location` could name `/etc/passwd` or
/// `../../secret`. So the location must be relative, must not contain `..`, and after
/// resolving symlinks must still lie inside the folder; offset and length are checked
/// against the file's size before anything is read.
struct ExternalDataResolver {
  /// The model's folder, symlinks resolved.
  let folder: URL
  let modelPath: String

  init(modelPath: String) {
    self.modelPath = modelPath
    self.folder = URL(fileURLWithPath: modelPath).deletingLastPathComponent().resolvingSymlinksInPath()
  }

  /// The bytes of tensor `tensorName` described by the `external_data` entries.
  func bytes(entries: [String: String], tensorName: String, expectedByteCount: Int) throws(ONNXError) -> [UInt8] {
    let context = "\(modelPath): tensor '\(tensorName)' external data"
    guard let location = entries["location"], !location.isEmpty else {
      throw .invalidModel("\(context) has no location")
    }
    if location.hasPrefix("/") {
      throw .invalidModel(
        "\(context): location '\(location)' is an absolute path; only files inside the model's folder are read")
    }
    if location.split(separator: "/").contains("..") {
      throw .invalidModel("\(context): location '\(location)' leaves the model's folder ('..')")
    }
    let file = folder.appendingPathComponent(location).resolvingSymlinksInPath()
    let folderPath = folder.path.hasSuffix("/") ? folder.path : folder.path + "/"
    guard file.path.hasPrefix(folderPath) else {
      throw .invalidModel(
        "\(context): location '\(location)' resolves to \(file.path), outside the model's folder \(folder.path)")
    }
    let offset = try integer(entries["offset"], default: 0, field: "offset", context: context)
    let length = try integer(entries["length"], default: -1, field: "length", context: context)
    guard let attributes = try? FileManager.default.attributesOfItem(atPath: file.path),
      let size = (attributes[.size] as? NSNumber)?.intValue
    else {
      throw .notFound("\(context): cannot read \(file.path)")
    }
    let byteCount = length >= 0 ? length : size - offset
    guard byteCount == expectedByteCount else {
      throw .invalidModel("\(context): \(byteCount) bytes, expected \(expectedByteCount) for its shape and type")
    }
    guard offset <= size, byteCount <= size - offset else {
      throw .invalidModel(
        "\(context): offset \(offset) + length \(byteCount) exceeds the size of \(location) (\(size) bytes)")
    }
    guard let handle = FileHandle(forReadingAtPath: file.path) else {
      throw .notFound("\(context): cannot open \(file.path)")
    }
    defer { try? handle.close() }
    do {
      try handle.seek(toOffset: UInt64(offset))
      let data = try handle.read(upToCount: byteCount) ?? Data()
      guard data.count == byteCount else {
        throw ONNXError.invalidModel("\(context): read \(data.count) of \(byteCount) bytes from \(location)")
      }
      return [UInt8](data)
    } catch let error as ONNXError {
      throw error
    } catch {
      throw .notFound("\(context): reading \(file.path): \(error)")
    }
  }

  private func integer(_ text: String?, default value: Int, field: String, context: String) throws(ONNXError) -> Int {
    guard let text else { return value }
    guard let parsed = Int(text), parsed >= 0 else {
      throw .invalidModel("\(context): \(field) '\(text)' is not a non-negative integer")
    }
    return parsed
  }
}
