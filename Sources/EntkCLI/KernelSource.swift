import ArrayIO
import Foundation
import Kernels

/// A kernel given to `entk attribute`: a `.npy` file, or a folder written by `entk kernel`
/// (`kernel.npy` plus `kernel.json`, whose settings are then recorded in the bundle).
struct KernelSource {
  /// The fields of `kernel.json` (schema `schemas/kernel.schema.json`) that a bundle records.
  struct FolderDescription: Decodable {
    struct Projection: Decodable {
      var dim: Int
      var distribution: String
      var seed: UInt64
      var density: Int?
    }
    struct Group: Decodable { var name: String }
    struct DataReference: Decodable { var path: String }

    var kind: String
    var normalize: String?
    var projection: Projection?
    var backend: String?
    var model: String?
    var options: String?
    var parameterGroups: [Group]?
    var rows: DataReference?
    var file: String?
    var complete: Bool?
  }

  /// The path as given.
  var path: String
  /// The `.npy` file read.
  var file: URL
  /// float32 [rows, N] or [L, rows, N].
  var array: NPYArray
  /// The folder's description, when the kernel came from `entk kernel`.
  var folder: FolderDescription?

  /// Reads the kernel at `path`: a `.npy` file or a kernel folder.
  init(path: String) throws {
    self.path = path
    let url = URL(fileURLWithPath: path)
    var isDirectory: ObjCBool = false
    if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
      let jsonURL = url.appendingPathComponent("kernel.json")
      let data: Data
      do {
        data = try Data(contentsOf: jsonURL)
      } catch {
        throw NPYError.cannotRead(path: jsonURL.path, reason: "no kernel.json: not a folder written by `entk kernel`")
      }
      let description: FolderDescription
      do {
        description = try JSONDecoder().decode(FolderDescription.self, from: data)
      } catch {
        throw AttributeError.unsupportedKernel(
          path: jsonURL.path, shape: [], reason: "kernel.json is not readable: \(JSONFailure.reason(error))")
      }
      guard description.complete ?? true else { throw AttributeError.kernelFolderIncomplete(path: path) }
      let name = description.file ?? "kernel.npy"
      guard KernelManifest.isFileName(name) else {
        throw AttributeError.unsupportedKernel(
          path: jsonURL.path, shape: [], reason: "file is \"\(name)\", expected a file name inside the kernel folder")
      }
      folder = description
      file = url.appendingPathComponent(name)
    } else {
      folder = nil
      file = url
    }
    array = try NPYFile.read(file)
    guard array.shape.count == 2 || array.shape.count == 3 else {
      throw AttributeError.unsupportedKernel(
        path: file.path, shape: array.shape,
        reason: array.shape.count == 4
          ? "the full eNTK's C×C blocks need a block kernel machine; use trntk, pntk, a projected kind, em or layers"
          : "expected [M, N] or [L, M, N]")
    }
  }

  /// The kind recorded for this kernel: from `kernel.json`, else `fallback`.
  func kind(fallback: String) -> String { folder?.kind ?? fallback }
}
