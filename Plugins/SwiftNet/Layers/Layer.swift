/// The layer types an architecture file may use, by their `type` string.
enum LayerType: String, CaseIterable {
  case dense, conv2d, maxpool2d, avgpool2d, globalavgpool, flatten, batchnorm2d, residual
  case relu, leakyrelu, tanh, sigmoid, gelu, softplus
}

/// A named tensor a layer stores in the model folder as `<layer>.<suffix>.npy`.
struct TensorSlot {
  /// File-name suffix: "weight", "bias", "running_mean", "running_var".
  let suffix: String
  /// The tensor's shape, as PyTorch stores it (Conv2d weight: [Cout, Cin/groups, kh, kw]).
  let shape: [Int]
  /// Start in the flat parameter vector, or in the buffer vector when `isBuffer`.
  let offset: Int
  /// Buffers (BatchNorm running statistics) are model state but not differentiable parameters.
  let isBuffer: Bool

  var count: Int { shape.reduce(1, *) }
}

/// The model's numbers: the flat parameter vector θ (P float32s, in parameter-group order) and
/// the non-differentiable buffers (BatchNorm running statistics).
struct Weights {
  var parameters: [Float]
  var buffers: [Float]
}

/// What a layer's forward pass keeps for its backward pass (only what that layer needs).
struct LayerTrace {
  /// The layer's input, n × input size.
  var input: [Float] = []
  /// The layer's output, n × output size.
  var output: [Float] = []
  /// Max pooling: for each output element, the index of the chosen input element in its sample.
  var indices: [Int32] = []
  /// Conv2d: im2col columns, n × (Cin·kh·kw) × (Ho·Wo).
  var columns: [Float] = []
  /// Residual blocks: the traces of the body's and the shortcut's layers.
  var children: [[LayerTrace]] = []
}

/// Where a backward pass writes parameter gradients.
///
/// The backward batch has m = n·R rows (R cotangent rows per sample, e.g. R = C for full
/// Jacobians); row r belongs to sample r / R.
enum GradientSink {
  /// Row r's gradient goes to `base + r·stride` (offsets within a row are parameter offsets);
  /// each layer overwrites its own range.
  case perRow(UnsafeMutablePointer<Float>, stride: Int)
  /// Every row's gradient is added into one P-vector at `base` (zeroed by the caller).
  case summed(UnsafeMutablePointer<Float>)
  /// `factored_jacobian` rows at `base` (R = C, or R = 1 for `factored_vjp_inputs` rows, whose
  /// layout has one class): factored groups write their factors where `layout` says, the others
  /// overwrite their columns of the row's plain block.
  case factored(UnsafeMutablePointer<Float>, layout: FactoredRowLayout)

  /// Where row r's gradient of the group starting at parameter `offset` begins.
  func destination(row r: Int, offset: Int) -> UnsafeMutablePointer<Float> {
    switch self {
    case .perRow(let base, let stride): return base + r * stride + offset
    case .summed(let base): return base + offset
    case .factored(let base, let layout):
      let (sample, logit) = r.quotientAndRemainder(dividingBy: layout.classes)
      return base + sample * layout.rowSize + logit * layout.plainCount + layout.plainColumn(offset)
    }
  }

  /// BLAS beta: 1 when gradients accumulate into the destination, 0 when they overwrite it.
  var beta: Float {
    if case .summed = self { return 1 }
    return 0
  }
}

/// One layer of a network.
///
/// Shapes are per sample: [features] or [channels, height, width]; buffers hold a batch, row-major, sample
/// first.
protocol Layer {
  /// Unique within the model; names the parameter group and the weight files.
  var name: String { get }
  var inputShape: [Int] { get }
  var outputShape: [Int] { get }
  /// The tensors this layer (and, for blocks, its sub-layers) stores, in parameter order.
  var tensors: [TensorSlot] { get }
  /// Parameter groups (name, offset, count) of this layer and its sub-layers, in order.
  var parameterGroups: [ParameterGroup] { get }
  /// The layer's object in the architecture file, with every setting explicit.
  var config: [String: JSONValue] { get }

  /// Seeded initialisation of this layer's parameters and buffers.
  func initialize(_ weights: inout Weights, random: inout SeededRandom)

  /// Maps an n-sample batch to outputs; with `keep`, also returns what `backward` needs.
  func forward(_ input: [Float], count n: Int, weights: Weights, keep: Bool) -> (output: [Float], trace: LayerTrace)

  /// Given ∂L/∂output for m = n·`repeats` rows, writes parameter gradients into `sink` and
  /// returns ∂L/∂input (m × input size) when `needInput`, else an empty array.
  func backward(
    _ outputGradient: [Float], rows m: Int, repeats: Int, trace: LayerTrace, weights: Weights,
    sink: GradientSink, needInput: Bool
  ) -> [Float]
}

/// A contiguous range of the flat parameter vector belonging to one layer.
struct ParameterGroup {
  let name: String
  let offset: Int
  let count: Int
  /// The group's outer-product shape when its per-sample gradients factor (ABI 1.1), else nil.
  var factor: GroupFactor? = nil
  /// Why it is reported unfactored, for people (ABI 1.2 `entk_group_factor.reason`): nil for a
  /// factor of one term; for a sum of terms, the reason given to callers that see it plain.
  var plainReason: String? = nil

  /// The group as callers before ABI 1.3 see it: a sum of terms is plain.
  var singleTerm: ParameterGroup {
    guard let factor, factor.terms > 1 else { return self }
    return ParameterGroup(name: name, offset: offset, count: count, plainReason: plainReason)
  }
}

/// A factored group's shape: ∂f_c/∂θ[offset + π(o, j)] = Σ_{r<terms} Δ_{c,r}[o]·a_r[j], j < `inputDim`,
/// o < `outputDim`.
struct GroupFactor {
  let inputDim: Int
  let outputDim: Int
  /// R, the outer products summed (ABI 1.3): a convolution's output positions; 1 for a dense layer.
  var terms = 1
}

extension Layer {
  var inputSize: Int { inputShape.reduce(1, *) }
  var outputSize: Int { outputShape.reduce(1, *) }

  /// The single unfactored group of a layer whose tensors are its own parameters (empty if it
  /// has none), with the reason it does not factor.
  func ownParameterGroups(plainReason: String) -> [ParameterGroup] {
    let parameters = tensors.filter { !$0.isBuffer }
    guard let first = parameters.first else { return [] }
    return [
      ParameterGroup(
        name: name, offset: first.offset, count: parameters.reduce(0) { $0 + $1.count }, plainReason: plainReason)
    ]
  }
}

/// The largest per-sample tensor (activations, im2col columns, one layer's weights) a model may
/// have: far below Int32.max, so sizes never overflow and every BLAS dimension fits.
enum SizeLimit {
  static let values = 1 << 28

  /// The product of `dimensions`, or nil if it exceeds `values` (checked without overflow).
  static func product(_ dimensions: [Int]) -> Int? {
    var result = 1
    for dimension in dimensions {
      let (product, overflow) = result.multipliedReportingOverflow(by: dimension)
      guard !overflow, product <= values else { return nil }
      result = product
    }
    return result
  }
}
