import BackendLoader
import Foundation
import Kernels

/// The train × train and test × train kernels that `entk attribute --kind` computes itself, as two
/// `entk kernel` folders in a hidden working folder beside the bundle.
///
/// Beside the bundle rather than in /tmp: kernels can be large, and the user chose that disk for
/// the output. The caller removes the folder once the bundle is written or the run failed.
struct InProcessKernels {
  /// The working folder, ".BUNDLE.kernels-PID" next to the bundle.
  let folder: URL
  var train: URL { folder.appendingPathComponent("train") }
  var test: URL { folder.appendingPathComponent("test") }

  /// The working folder's name without the PID: ".BUNDLE.kernels-".
  private let namePrefix: String

  /// A fresh working folder for the bundle at `bundle` (nothing is created yet).
  init(beside bundle: URL) {
    namePrefix = ".\(bundle.lastPathComponent).kernels-"
    folder = bundle.deletingLastPathComponent().appendingPathComponent(namePrefix + "\(getpid())")
  }

  /// Removes working folders of earlier runs for the same bundle whose process is gone (killed
  /// before it could clean up), so interrupted runs do not pile up kernels on disk.
  func removeStaleFolders() {
    let parent = folder.deletingLastPathComponent()
    guard let entries = try? FileManager.default.contentsOfDirectory(atPath: parent.path) else { return }
    for entry in entries where entry.hasPrefix(namePrefix) {
      guard let pid = Int32(entry.dropFirst(namePrefix.count)), pid != getpid() else { continue }
      if kill(pid, 0) != 0 && errno == ESRCH {
        try? FileManager.default.removeItem(at: parent.appendingPathComponent(entry))
      }
    }
  }

  /// Computes both kernels with `settings`, reporting progress on stderr.
  ///
  /// Both jobs are created (backend opened, data read and checked, tiles sized) before either
  /// kernel is computed, so bad input fails before any work.
  func compute(
    settings: KernelSettings, backend: String, model: String, options: String?, trainInputs: DataSource,
    testInputs: DataSource, threads: Int, log: @escaping (String) -> Void
  ) throws {
    let library = try BackendLibrary.load(backend)
    let modelPath = ModelPath.absolute(model)
    let trainJob = try KernelJob(
      settings: settings, library: library, model: modelPath, options: options, train: trainInputs, test: nil,
      threads: threads)
    let testJob = try KernelJob(
      settings: settings, library: library, model: modelPath, options: options, train: trainInputs, test: testInputs,
      threads: threads)
    try? FileManager.default.removeItem(at: folder)
    removeStaleFolders()
    for (name, job, directory) in [("train", trainJob, train), ("test", testJob, test)] {
      job.log(prefix: "attribute: \(name) kernel", to: log)
      let shape = job.manifest.shape
      log(
        "attribute: computing the \(name) kernel (\(settings.kind.rawValue), \(shape.map(String.init).joined(separator: "×"))) "
          + "in \(job.manifest.grid.tiles.count) tile(s)")
      let printer = TileProgressPrinter(prefix: "attribute: \(name) kernel", log: log)
      _ = try job.run(in: directory, progress: printer.report)
    }
  }

  /// Removes the working folder and everything in it.
  func remove() { try? FileManager.default.removeItem(at: folder) }
}
