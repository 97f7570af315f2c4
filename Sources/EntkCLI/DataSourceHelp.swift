/// The help text of every `--train`/`--test` option that takes samples (one vocabulary).
enum DataSourceHelp {
  static let train =
    "Training samples: one .npy/.csv/.npz file ([N, ...input shape]), or NAME=FILE once per model input (repeat the option); a .npz names its arrays like the model's inputs."
  static let test = "Test samples, as --train; the kernel is then test × train."
}
