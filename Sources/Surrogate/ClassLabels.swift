/// Checks on integer class labels shared by fitting, metrics and the CLI.
public enum ClassLabels {
  /// Throws unless there are `count` labels, each in 0..<classCount.
  /// - Parameter name: names the labels in errors (e.g. a file path).
  public static func validate(_ labels: [Int], count: Int, classCount: Int, name: String) throws {
    guard labels.count == count else {
      throw SurrogateError.labelCount(name: name, expected: count, actual: labels.count)
    }
    if let index = labels.firstIndex(where: { $0 < 0 || $0 >= classCount }) {
      throw SurrogateError.labelOutOfRange(name: name, index: index, label: labels[index], classCount: classCount)
    }
  }

  /// The index of the largest value in each row of a row-major [rows, classCount] matrix
  /// (the first one on ties): the predicted class per row.
  public static func argmax<T: BinaryFloatingPoint>(_ matrix: [T], classCount: Int) -> [Int] {
    precondition(classCount >= 1 && matrix.count % classCount == 0, "matrix must be [rows, classCount]")
    return stride(from: 0, to: matrix.count, by: classCount).map { start in
      var best = start
      for j in start..<(start + classCount) where matrix[j] > matrix[best] { best = j }
      return best - start
    }
  }
}
