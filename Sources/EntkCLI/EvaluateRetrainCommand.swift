import ArgumentParser
import Foundation

struct EvaluateRetrainCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "retrain",
    abstract: "Train the unfinished subsets of an `entk evaluate subsets`, `remove` or `mislabel` folder.",
    discussion: """
      Finished subsets (done.json present, margins matching it) are skipped, so the command \
      resumes after an interruption; with --subset k only that subset is trained (what the \
      Makefile's and slurm.sh's tasks run). Each model's margins on the test points are recorded \
      in its subset folder.
      """)

  @Argument(help: "The folder written by `entk evaluate subsets`, `remove` or `mislabel`.") var directory: String
  @Option(help: "Train only this subset (0-based).") var subset: Int?

  func run() throws {
    let folder = try RetrainFolder.open(URL(fileURLWithPath: directory))
    let count = folder.description.subsetCount
    if let subset, !(0..<count).contains(subset) {
      throw EvaluateError.subsetOutOfRange(subset: subset, count: count)
    }
    try folder.retrain(subset.map { [$0] } ?? Array(0..<count))
    let done = (0..<count).filter(folder.isDone).count
    printError("evaluate: \(done) of \(count) subsets retrained in \(folder.url.path)")
  }
}
