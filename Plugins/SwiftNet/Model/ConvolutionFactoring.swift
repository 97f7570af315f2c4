/// When a convolution's weight is reported as a sum over its output positions (ABI 1.3 `terms`),
/// the `conv_factors` option of `open`.
///
/// A sum of R = Ho·Wo terms Δ_r ⊗ patch_r, or whole columns: the kernels are the same either way,
/// only their cost differs.
enum ConvolutionFactoring: String, CaseIterable {
  /// When a kernel of all classes costs less with the sum than with whole columns (few
  /// positions, many channels: a ResNet's last stages).
  case auto
  /// Every convolution that can (one group).
  case always
  /// None.
  case never

  /// `group` as reported: a sum of terms stays one if this policy says so, else turns plain.
  ///
  /// A plain group's reason says why. Groups of one term pass unchanged.
  ///
  /// The ONNX backend's rule (its `GroupFactorSearch.sumCostsLess`), per sample of a 64-sample
  /// tile: whole columns cost C·O·I·(2R + 64 + 64) flop-equivalents (the reverse pass's R
  /// multiply-adds per entry, the Gram's products, writing and first touching each float), a sum
  /// 64·R²·(I + C·O) + 64·R·(I + C·O).
  func decide(_ group: ParameterGroup, classes: Int) -> ParameterGroup {
    guard let factor = group.factor, factor.terms > 1 else { return group }
    let (r, i, o) = (factor.terms, factor.inputDim, factor.outputDim)
    let reason = group.plainReason ?? "a sum of \(r) terms"
    let plainBecause: String?
    switch self {
    case .always: plainBecause = nil
    case .never: plainBecause = reason + " (option conv_factors is 'never')"
    case .auto:
      let (n, memory) = (64.0, 64.0)
      let (terms, width) = (Double(r), Double(i + classes * o))
      let sum = n * terms * terms * width + memory * terms * width
      let columns = Double(classes) * Double(o) * Double(i) * (2 * terms + n + memory)
      plainBecause = sum < columns ? nil : reason + ": whole columns cost less than a sum of \(r) patch terms"
    }
    guard let plainBecause else { return group }
    return ParameterGroup(name: group.name, offset: group.offset, count: group.count, plainReason: plainBecause)
  }
}
