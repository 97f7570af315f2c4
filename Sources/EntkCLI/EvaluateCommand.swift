import ArgumentParser

struct EvaluateCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "evaluate",
    abstract: "Check attributions against retraining: LDS, mislabel detection, remove-and-retrain.",
    discussion: """
      `entk evaluate subsets` plans K models retrained on random training subsets (a folder, a \
      Makefile and a Slurm array), `entk evaluate retrain` trains them (resumable, one subset \
      folder each), and `entk evaluate lds` scores bundles against them, writing the LDS into each \
      bundle's metrics and report. `entk evaluate mislabel` and `remove` plan their models in \
      folders of the same kind, which `retrain`, the Makefile and slurm.sh train too. Definitions: \
      docs/evaluate.md.
      """,
    subcommands: [
      EvaluateSubsetsCommand.self, EvaluateRetrainCommand.self, EvaluateLDSCommand.self, EvaluateMislabelCommand.self,
      EvaluateRemoveCommand.self,
    ])
}
