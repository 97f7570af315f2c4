/// How one parameter group's per-sample gradient factors as an outer product (ABI 1.1,
/// `entk_group_factor`): ∂f_c/∂θ[π(o, j)] = Δ_c[o] · a[j] for a fixed bijection π; or, for an
/// embedding table read at several indices or a convolution applied at several positions, as a
/// sum of R of them (ABI 1.3).
///
/// Found once when a model opens by `find` (GroupFactorSearch.swift), from the graph's dataflow.
public struct GroupFactor: Sendable, Equatable {
  /// Where a(x) comes from.
  public enum Input: Sendable, Equatable {
    /// `scale` times the elements of a forward value, flattened.
    case value(String, scale: Float)
    /// The single constant `[scale]`: a bias (I = 1).
    case constant(Float)
    /// One-hot a_r = e_k for each of the R integer elements k of a value: the rows a Gather reads.
    case indices(String)
    /// a_r = the patch of a forward value (a Conv's X) at each of the R output positions. The
    /// Δ value (the Conv's Y) then holds [O, R] per logit, channels first.
    case patches(String, ConvolutionPatches)
  }

  public var input: Input
  /// I: the length of a(x).
  public var inputDim: Int
  /// O: the length of each Δ_c(x).
  public var outputDim: Int
  /// The value (R·O elements per sample) whose gradient with respect to logit c is Δ_c.
  public var delta: String
  /// R: the outer products summed, 1 but for a table read at several indices.
  public var terms = 1
  /// The rows of the a and Δ values that hold the R terms, when the others can never reach the
  /// logits (`TermLiveness`); nil when the values hold exactly the R terms.
  public var kept: KeptRows? = nil

  /// Rows `rows` (increasing) of a token sum's `total`: the terms that can reach the logits.
  public struct KeptRows: Sendable, Equatable {
    public var rows: [Int]
    public var total: Int
  }

  /// The rows of a term the a and Δ values hold per sample.
  var valueTerms: Int { kept?.total ?? terms }

  /// The value the a's come from; nil for a constant.
  var inputValue: String? {
    switch input {
    case .value(let name, _), .indices(let name), .patches(let name, _): name
    case .constant: nil
    }
  }

  /// Whether the a's are one-hot (stored as their indices).
  public var oneHot: Bool {
    if case .indices = input { true } else { false }
  }

  /// Floats of a `factored_jacobian` row for `classes` logits: the a's, then C × R × O Δ's.
  public func rowLength(classes: Int) -> Int { (oneHot ? terms : terms * inputDim) + classes * terms * outputDim }
}

/// What a convolution's weight meets at each output position: the window over its input and the
/// input's channels, which give the patch matrix [channels · kernel positions, R] (`PatchMatrix`),
/// in the weight's own (channel, kernel position) order.
public struct ConvolutionPatches: Sendable, Equatable {
  let window: SpatialWindow
  let channels: Int
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
