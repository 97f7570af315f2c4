/// The kernels entk computes (definitions in docs/method.md; f(x) ∈ R^C logits, θ ∈ R^P parameters,
/// g_c(x) = ∂f_c(x)/∂θ, R ∈ R^{k×P} a seeded random projection, φ(x) ∈ R^E penultimate features).
///
/// Every kind is a Gram matrix of per-sample *features*, which is what lets one tiled sgemm
/// path compute all of them:
///
/// | kind | features of one sample (float32) | value of one pair |
/// |---|---|---|
/// | `entk` | J(x), C rows × P | the C×C block J(x) J(x')ᵀ |
/// | `trntk` | vec J(x), C·P | Σ_c g_c(x)·g_c(x') |
/// | `pntk` | Σ_c g_c(x) / √C, P | (Σ_c g_c(x))·(Σ_c g_c(x')) / C |
/// | `proj-trntk` | [R g_1(x), …, R g_C(x)], C·k | Σ_c (R g_c(x))·(R g_c(x')) |
/// | `proj-pntk` | R Σ_c g_c(x) / √C, k | (R Σ_c g_c(x))·(R Σ_c g_c(x')) / C |
/// | `em` | φ(x), E | φ(x)·φ(x') |
/// | `layers` | J(x), C rows × P | one trntk per parameter group l: Σ_c g_{c,l}(x)·g_{c,l}(x') |
public enum KernelKind: String, Sendable, Codable, CaseIterable {
  case entk
  case trntk
  case pntk
  case projTrntk = "proj-trntk"
  case projPntk = "proj-pntk"
  case em
  case layers

  /// Whether the kind can be computed from a backend's per-layer factors (`factored_jacobian`;
  /// `pntk` from `factored_vjp_inputs`, rows with the classes contracted).
  public var factorable: Bool { self == .trntk || self == .layers || self == .entk || self == .pntk }

  /// Whether a plan stores the kind's features once per block (`FeatureStore`): they are small
  /// (k·C, k or E floats a sample), so reading them beats recomputing gradients in every tile.
  public var storesFeatures: Bool { isProjected || self == .em }

  /// Whether the kind needs a random projection (and so `--proj-dim`).
  public var isProjected: Bool { self == .projTrntk || self == .projPntk }

  /// What the backend must compute for one sample.
  var source: FeatureSource {
    switch self {
    case .entk, .trntk, .layers, .projTrntk: return .jacobian
    case .pntk, .projPntk: return .summedGradient
    case .em: return .embedding
    }
  }

  /// Float32 values stored per (row, column) pair: C² for `entk`, L for `layers`, else 1.
  public func valuesPerPair(numOutputs: Int, numGroups: Int) -> Int {
    switch self {
    case .entk: return numOutputs * numOutputs
    case .layers: return numGroups
    default: return 1
    }
  }

  /// Shape of the stored kernel for `rows` × `columns` samples.
  ///
  /// [N, M], [N, M, C, C] for `entk`, [L, N, M] for `layers`. Tiles have the same layout with their own N and M.
  public func storedShape(rows: Int, columns: Int, numOutputs: Int, numGroups: Int) -> [Int] {
    switch self {
    case .entk: return [rows, columns, numOutputs, numOutputs]
    case .layers: return [numGroups, rows, columns]
    default: return [rows, columns]
    }
  }
}

/// What a backend computes per sample before any projection.
enum FeatureSource {
  /// The full Jacobian J(x), C × P (`BackendModel.jacobian`).
  case jacobian
  /// Σ_c g_c(x) / √C, P (one `vjp` call with cotangents 1/√C).
  case summedGradient
  /// φ(x), E (`forward` with an embedding buffer).
  case embedding
}
