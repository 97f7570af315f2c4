/// How one parameter group's per-sample gradient factors as an outer product (ABI 1.1,
/// `entk_group_factor`): ∂f_c/∂θ[π(o, j)] = Δ_c[o] · a[j] for a fixed bijection π.
///
/// Found once when a model opens by `find` (GroupFactorSearch.swift), from the graph's dataflow.
public struct GroupFactor: Sendable, Equatable {
  /// Where a(x) comes from.
  public enum Input: Sendable, Equatable {
    /// `scale` times the elements of a forward value, flattened.
    case value(String, scale: Float)
    /// The single constant `[scale]`: a bias (I = 1).
    case constant(Float)
  }

  public var input: Input
  /// I: the length of a(x).
  public var inputDim: Int
  /// O: the length of each Δ_c(x).
  public var outputDim: Int
  /// The value (O elements per sample) whose gradient with respect to logit c is Δ_c.
  public var delta: String
}

/// How `factoredJacobian` returns one parameter group.
public enum GroupFactoring: Sendable, Equatable {
  /// As the factors a and Δ.
  case factored(GroupFactor)
  /// As plain Jacobian columns; `reason` says why, for people (ABI 1.2 `entk_group_factor.reason`).
  case plain(reason: String)

  public var factor: GroupFactor? {
    if case .factored(let factor) = self { factor } else { nil }
  }

  public var reason: String? {
    if case .plain(let reason) = self { reason } else { nil }
  }
}
