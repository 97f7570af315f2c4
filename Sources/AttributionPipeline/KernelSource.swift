import ArrayIO
import Foundation
import Kernels

/// A kernel the pipeline attributes with: a `.npy` file, or a folder written by `entk kernel`
/// (`kernel.npy` described by `kernel.json`, read as a `KernelManifest`, whose settings the
/// bundle then records).
struct KernelSource {
  /// The path as given.
  var path: String
  /// The `.npy` file read.
  var file: URL
  /// float32 [rows, N] or [L, rows, N].
  var array: NPYArray
  /// The folder's `kernel.json`, when the kernel came from `entk kernel`.
  var folder: KernelManifest?

  /// Reads the kernel at `path`: a `.npy` file or a kernel folder.
  /// - Throws: `AttributeError.notAKernelFolder` for a folder without `kernel.json`,
  ///   `KernelError` for a `kernel.json` that is not a valid one,
  ///   `AttributeError.kernelFolderIncomplete` while tiles are missing, `NPYError` for the array,
  ///   `AttributeError.unsupportedKernel` for an array of another rank.
  init(path: String) throws {
    self.path = path
    let url = URL(fileURLWithPath: path)
    var isDirectory: ObjCBool = false
    if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
      guard let manifest = try KernelManifest.read(directory: url) else {
        throw AttributeError.notAKernelFolder(path: path)
      }
      guard manifest.complete else { throw AttributeError.kernelFolderIncomplete(path: path) }
      folder = manifest
      file = url.appendingPathComponent(manifest.file)
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
  func kind(fallback: String) -> String { folder?.kind.rawValue ?? fallback }
}
