import Testing

@testable import ONNXBackend

/// Every differentiable operator's reverse pass against central finite differences of L = Σ
/// u·outputs (u a fixed random cotangent), element by element of every float input it
/// differentiates.
///
/// Inputs keep away from kinks (ReLU at 0, ties in MaxPool, Clip bounds).
///
/// Step h = 2e-3 (float32 forward passes); tolerance |fd − vjp| ≤ 1e-2·max(|fd|, |vjp|) + 2e-3.
struct OperatorGradientTests {
  struct Case: CustomTestStringConvertible, Sendable {
    var label: String
    var op: String
    var opset = 17
    var attributes: [String: Attribute] = [:]
    /// nil = an omitted optional input.
    var inputs: [Tensor?]
    /// The inputs whose gradients are checked.
    var differentiable: [Int]
    var outputCount = 1
    var testDescription: String { label }
  }

  /// A deterministic stream of uniform numbers (a linear congruential generator).
  struct Numbers {
    var state: UInt64
    mutating func next() -> Float {
      state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
      return Float(state >> 40) / Float(1 << 24)
    }
    /// Uniform in [low, high).
    mutating func tensor(_ shape: [Int], _ low: Float = -1, _ high: Float = 1) -> Tensor {
      Tensor(shape: shape, floats: (0..<shape.reduce(1, *)).map { _ in low + (high - low) * next() })
    }
    /// Uniform with |x| in [0.1, 1): away from the kinks at 0.
    mutating func awayFromZero(_ shape: [Int]) -> Tensor {
      Tensor(shape: shape, floats: (0..<shape.reduce(1, *)).map { _ in (0.1 + 0.9 * next()) * (next() < 0.5 ? -1 : 1) })
    }
    /// A shuffled ramp: distinct values at least 0.05 apart (no ties for max).
    mutating func distinct(_ shape: [Int], offset: Float = 0) -> Tensor {
      var values = (0..<shape.reduce(1, *)).map { Float($0) * 0.05 - 1 + offset }
      for i in stride(from: values.count - 1, to: 0, by: -1) { values.swapAt(i, Int(next() * Float(i + 1)) % (i + 1)) }
      return Tensor(shape: shape, floats: values)
    }
  }

  static func ints(_ values: [Int64]) -> Tensor { Tensor(shape: [values.count], ints: values) }

  static let cases: [Case] = {
    var r = Numbers(state: 42)
    func unary(
      _ op: String, _ x: Tensor, opset: Int = 17, _ attributes: [String: Attribute] = [:], label: String? = nil
    ) -> Case {
      Case(label: label ?? op, op: op, opset: opset, attributes: attributes, inputs: [x], differentiable: [0])
    }
    var cases: [Case] = [
      unary("Relu", r.awayFromZero([2, 3])),
      unary("LeakyRelu", r.awayFromZero([2, 3]), ["alpha": .float(0.2)]),
      unary("Elu", r.awayFromZero([2, 3]), ["alpha": .float(0.7)]),
      unary("Sigmoid", r.tensor([2, 3], -3, 3)),
      unary("Tanh", r.tensor([2, 3], -2, 2)),
      unary("Softplus", r.tensor([2, 3], -3, 3)),
      unary("Erf", r.tensor([2, 3], -2, 2)),
      unary("Gelu", r.tensor([2, 3], -3, 3), opset: 20),
      unary("Gelu", r.tensor([2, 3], -3, 3), opset: 20, ["approximate": .string("tanh")], label: "Gelu tanh"),
      unary("Sqrt", r.tensor([2, 3], 0.5, 2)),
      unary("Exp", r.tensor([2, 3])),
      unary("Log", r.tensor([2, 3], 0.5, 2)),
      unary("Neg", r.tensor([2, 3])),
      unary("Abs", r.awayFromZero([2, 3])),
      unary("Reciprocal", r.tensor([2, 3], 0.5, 2)),
      unary("Identity", r.tensor([2, 3])),
      unary("Dropout", r.tensor([2, 3])),
      unary("Cast", r.tensor([2, 3]), ["to": .int(1)]),
      unary("Cast", r.tensor([2, 3]), ["to": .int(11)], label: "Cast to DOUBLE (held as float32)"),
      unary("Softmax", r.tensor([2, 5], -2, 2)),
      unary(
        "Softmax", r.tensor([2, 3, 4], -2, 2), opset: 11, ["axis": .int(1)], label: "Softmax opset 11 (2-D coercion)"),
      unary("LogSoftmax", r.tensor([2, 3, 4], -2, 2), ["axis": .int(1)]),
      unary("ReduceMean", r.tensor([2, 3, 4]), ["axes": .ints([1]), "keepdims": .int(0)]),
      unary("Flatten", r.tensor([2, 3, 4]), ["axis": .int(2)]),
      unary("Transpose", r.tensor([2, 3, 4]), ["perm": .ints([2, 0, 1])]),
      unary("GlobalAveragePool", r.tensor([2, 3, 4, 4])),
      unary("GlobalMaxPool", r.distinct([2, 3, 3, 3])),
      unary(
        "MaxPool", r.distinct([1, 2, 5, 5]),
        ["kernel_shape": .ints([2, 3]), "strides": .ints([2, 2]), "pads": .ints([1, 1, 1, 1]), "ceil_mode": .int(1)]),
      unary(
        "MaxPool", r.distinct([2, 2, 7]), ["kernel_shape": .ints([3]), "dilations": .ints([2])],
        label: "MaxPool 1-D dilated"),
      unary(
        "AveragePool", r.tensor([1, 2, 5, 5]),
        ["kernel_shape": .ints([3, 3]), "strides": .ints([2, 2]), "pads": .ints([1, 1, 1, 1])],
        label: "AveragePool excluding pads"),
      unary(
        "AveragePool", r.tensor([1, 2, 5, 5]),
        ["kernel_shape": .ints([2, 2]), "pads": .ints([0, 1, 1, 0]), "count_include_pad": .int(1)],
        label: "AveragePool including pads"),
    ]
    let offKink = Tensor(shape: [2, 3], floats: [-2.7, -0.8, 0.3, 0.7, 1.6, 3.4])
    cases += [
      unary("Softsign", r.tensor([2, 3], -3, 3)),
      unary("Mish", r.tensor([2, 3], -3, 3), opset: 18),
      unary("Sin", r.tensor([2, 3], -3, 3)),
      unary("Cos", r.tensor([2, 3], -3, 3)),
      unary("Tan", r.tensor([2, 3], -1, 1)),
      unary("Asin", r.tensor([2, 3], -0.8, 0.8)),
      unary("Acos", r.tensor([2, 3], -0.8, 0.8)),
      unary("Atan", r.tensor([2, 3], -3, 3)),
      unary("Sinh", r.tensor([2, 3], -2, 2)),
      unary("Cosh", r.tensor([2, 3], -2, 2)),
      unary("Asinh", r.tensor([2, 3], -3, 3)),
      unary("Acosh", r.tensor([2, 3], 1.5, 3)),
      unary("Atanh", r.tensor([2, 3], -0.8, 0.8)),
      unary("Floor", offKink),
      unary("Ceil", offKink),
      unary("Sign", offKink),
      unary("Selu", r.awayFromZero([2, 3])),
      unary("Celu", r.awayFromZero([2, 3]), ["alpha": .float(0.5)]),
      unary("ThresholdedRelu", offKink, ["alpha": .float(0.5)]),
      unary("HardSigmoid", offKink),
      unary("HardSwish", offKink),
      unary("ReduceMax", r.distinct([2, 3, 4]), ["axes": .ints([1])]),
      unary("ReduceMin", r.distinct([2, 3, 4]), ["axes": .ints([0, 2]), "keepdims": .int(0)]),
      unary("ReduceSumSquare", r.tensor([2, 3, 4]), ["axes": .ints([2])]),
      unary("ReduceL1", r.awayFromZero([2, 3, 4]), ["axes": .ints([1])]),
      unary("ReduceL2", r.tensor([2, 3, 4]), ["axes": .ints([1])]),
      unary("ReduceLogSumExp", r.tensor([2, 3, 4]), ["axes": .ints([2])]),
      Case(label: "CastLike", op: "CastLike", inputs: [r.tensor([2, 3]), r.tensor([1])], differentiable: [0]),
      Case(
        label: "GatherElements", op: "GatherElements", attributes: ["axis": .int(1)],
        inputs: [r.tensor([2, 3]), Tensor(shape: [2, 2], ints: [0, 2, 1, -3])], differentiable: [0]),
      Case(
        label: "Sum", op: "Sum", inputs: [r.tensor([2, 3]), r.tensor([3]), r.tensor([2, 1])], differentiable: [0, 1, 2]),
      Case(label: "Mean", op: "Mean", inputs: [r.tensor([2, 3]), r.tensor([3])], differentiable: [0, 1]),
      // Second inputs sit halfway between the first's values: no ties across inputs.
      Case(
        label: "Max", op: "Max", inputs: [r.distinct([2, 3]), r.distinct([3], offset: 0.025)], differentiable: [0, 1]),
      Case(
        label: "Min", op: "Min", inputs: [r.distinct([2, 3]), r.distinct([2, 1], offset: 0.025)],
        differentiable: [0, 1]),
      Case(
        label: "Mul opset 6 broadcast at axis 1", op: "Mul", opset: 6,
        attributes: ["broadcast": .int(1), "axis": .int(1)],
        inputs: [r.tensor([2, 3, 4]), r.tensor([3])], differentiable: [0, 1]),
      Case(
        label: "PRelu opset 6 per-channel slope", op: "PRelu", opset: 6,
        inputs: [r.awayFromZero([2, 3, 2]), r.tensor([3])],
        differentiable: [0, 1]),
      Case(
        label: "PRelu", op: "PRelu", inputs: [r.awayFromZero([2, 3, 2]), r.tensor([3, 1])], differentiable: [0, 1]),
    ]
    func binary(_ op: String, _ a: Tensor, _ b: Tensor) -> Case {
      Case(label: "\(op) \(a.shape) \(b.shape)", op: op, inputs: [a, b], differentiable: [0, 1])
    }
    cases += [
      binary("Add", r.tensor([2, 3]), r.tensor([3])),
      binary("Sub", r.tensor([2, 1, 3]), r.tensor([4, 1])),
      binary("Mul", r.tensor([2, 3]), r.tensor([2, 1])),
      binary("Div", r.tensor([2, 3]), r.tensor([3], 0.5, 2)),
      // A scalar operand on either side, and one whole operand against a trailing block.
      binary("Mul", r.tensor([]), r.tensor([2, 3])),
      binary("Div", r.tensor([2, 3], 0.5, 2), r.tensor([], 0.5, 2)),
      binary("Mul", r.tensor([3, 4]), r.tensor([1, 4])),
      binary("Pow", r.tensor([2, 3], 0.5, 2), r.tensor([2, 3])),
      binary("MatMul", r.tensor([2, 1, 3, 4]), r.tensor([3, 4, 5])),
      binary("MatMul", r.tensor([4]), r.tensor([4, 5])),
      Case(
        label: "Mod fmod", op: "Mod", attributes: ["fmod": .int(1)],
        inputs: [Tensor(shape: [2, 3], floats: [-2.3, -0.7, 0.4, 1.3, 2.6, 3.8]), r.tensor([3], 0.9, 1.9)],
        differentiable: [0, 1]),
      Case(
        label: "Where", op: "Where",
        inputs: [
          Tensor(shape: [2, 3], bools: [true, false, true, true, false, false]), r.tensor([2, 3]), r.tensor([3]),
        ],
        differentiable: [1, 2]),
      Case(
        label: "Gemm transB", op: "Gemm", attributes: ["transB": .int(1), "alpha": .float(0.7), "beta": .float(1.3)],
        inputs: [r.tensor([3, 4]), r.tensor([5, 4]), r.tensor([5])], differentiable: [0, 1, 2]),
      Case(
        label: "Gemm transA", op: "Gemm", attributes: ["transA": .int(1)],
        inputs: [r.tensor([4, 3]), r.tensor([4, 5]), r.tensor([3, 1])],
        differentiable: [0, 1, 2]),
      Case(
        label: "Conv 2-D groups pads strides dilations", op: "Conv",
        attributes: [
          "group": .int(2), "pads": .ints([1, 0, 2, 1]), "strides": .ints([2, 1]), "dilations": .ints([1, 2]),
        ],
        inputs: [r.tensor([1, 4, 6, 6]), r.tensor([6, 2, 3, 3]), r.tensor([6])], differentiable: [0, 1, 2]),
      Case(
        label: "Conv 3×3 stride 1 (Winograd)", op: "Conv", attributes: ["pads": .ints([1, 1, 1, 1])],
        inputs: [r.tensor([2, 8, 6, 5]), r.tensor([9, 8, 3, 3]), r.tensor([9])], differentiable: [0, 1, 2]),
      Case(
        label: "Conv 3×3 stride 1 asymmetric pads (Winograd)", op: "Conv", attributes: ["pads": .ints([0, 2, 2, 0])],
        inputs: [r.tensor([1, 8, 5, 7]), r.tensor([8, 8, 3, 3])], differentiable: [0, 1]),
      Case(
        label: "Conv 1-D SAME_UPPER", op: "Conv",
        attributes: ["auto_pad": .string("SAME_UPPER"), "strides": .ints([2])],
        inputs: [r.tensor([2, 3, 7]), r.tensor([2, 3, 3])], differentiable: [0, 1]),
      Case(
        label: "ConvTranspose 2-D groups strides pads output_padding", op: "ConvTranspose",
        attributes: [
          "group": .int(2), "strides": .ints([2, 1]), "pads": .ints([1, 0, 0, 1]), "output_padding": .ints([1, 0]),
          "dilations": .ints([1, 2]),
        ],
        inputs: [r.tensor([1, 4, 3, 3]), r.tensor([4, 1, 3, 2]), r.tensor([2])], differentiable: [0, 1, 2]),
      Case(
        label: "ConvTranspose 1-D output_shape", op: "ConvTranspose",
        attributes: ["strides": .ints([2]), "output_shape": .ints([8])],
        inputs: [r.tensor([2, 3, 4]), r.tensor([3, 2, 3])], differentiable: [0, 1]),
      Case(
        label: "RNN reverse", op: "RNN", attributes: ["hidden_size": .int(3), "direction": .string("reverse")],
        inputs: [
          r.tensor([4, 2, 2]), r.tensor([1, 3, 2]), r.tensor([1, 3, 3]), r.tensor([1, 6]), nil, r.tensor([1, 2, 3]),
        ],
        differentiable: [0, 1, 2, 3, 5], outputCount: 2),
      Case(
        label: "GRU linear_before_reset", op: "GRU",
        attributes: ["hidden_size": .int(2), "linear_before_reset": .int(1)],
        inputs: [
          r.tensor([3, 2, 3]), r.tensor([1, 6, 3]), r.tensor([1, 6, 2]), r.tensor([1, 12]), nil, r.tensor([1, 2, 2]),
        ],
        differentiable: [0, 1, 2, 3, 5], outputCount: 2),
      Case(
        label: "GRU bidirectional", op: "GRU",
        attributes: ["hidden_size": .int(2), "direction": .string("bidirectional")],
        inputs: [r.tensor([3, 1, 2]), r.tensor([2, 6, 2]), r.tensor([2, 6, 2]), r.tensor([2, 12])],
        differentiable: [0, 1, 2, 3], outputCount: 2),
      Case(
        label: "LSTM bidirectional with states", op: "LSTM",
        attributes: ["hidden_size": .int(2), "direction": .string("bidirectional")],
        inputs: [
          r.tensor([3, 2, 2]), r.tensor([2, 8, 2]), r.tensor([2, 8, 2]), r.tensor([2, 16]), nil, r.tensor([2, 2, 2]),
          r.tensor([2, 2, 2]),
        ],
        differentiable: [0, 1, 2, 3, 5, 6], outputCount: 3),
      Case(
        label: "Conv 3-D", op: "Conv", attributes: ["pads": .ints([1, 0, 0, 0, 1, 1]), "strides": .ints([1, 2, 1])],
        inputs: [r.tensor([1, 2, 3, 4, 3]), r.tensor([2, 2, 2, 2, 2]), r.tensor([2])], differentiable: [0, 1, 2]),
      unary(
        "MaxPool", r.distinct([1, 1, 3, 4, 4]), ["kernel_shape": .ints([2, 2, 2]), "strides": .ints([1, 2, 2])],
        label: "MaxPool 3-D"),
      unary(
        "AveragePool", r.tensor([1, 1, 3, 4, 4]),
        ["kernel_shape": .ints([2, 3, 2]), "pads": .ints([0, 1, 1, 1, 1, 0])],
        label: "AveragePool 3-D"),
      Case(
        label: "BatchNormalization", op: "BatchNormalization", attributes: ["epsilon": .float(1e-3)],
        inputs: [
          r.tensor([2, 3, 2, 2]), r.tensor([3], 0.5, 1.5), r.tensor([3]), r.tensor([3]), r.tensor([3], 0.5, 2),
        ],
        differentiable: [0, 1, 2, 3, 4]),
      Case(
        label: "InstanceNormalization", op: "InstanceNormalization", attributes: ["epsilon": .float(1e-3)],
        inputs: [r.tensor([2, 3, 2, 3]), r.tensor([3], 0.5, 1.5), r.tensor([3])], differentiable: [0, 1, 2]),
      Case(
        label: "LayerNormalization last axis", op: "LayerNormalization",
        inputs: [r.tensor([2, 3, 4]), r.tensor([4], 0.5, 1.5), r.tensor([4])],
        differentiable: [0, 1, 2]),
      Case(
        label: "LayerNormalization axis 1 no bias", op: "LayerNormalization",
        attributes: ["axis": .int(1), "epsilon": .float(1e-3)],
        inputs: [r.tensor([2, 3, 4]), r.tensor([3, 4], 0.5, 1.5)], differentiable: [0, 1]),
      Case(
        label: "ReduceSum axes input", op: "ReduceSum", opset: 13, inputs: [r.tensor([2, 3, 4]), ints([0, 2])],
        differentiable: [0]),
      Case(label: "Reshape", op: "Reshape", inputs: [r.tensor([2, 6]), ints([3, -1])], differentiable: [0]),
      Case(label: "Squeeze", op: "Squeeze", inputs: [r.tensor([2, 1, 3]), ints([1])], differentiable: [0]),
      Case(label: "Unsqueeze", op: "Unsqueeze", inputs: [r.tensor([2, 3]), ints([0, 3])], differentiable: [0]),
      Case(
        label: "Slice negative step", op: "Slice",
        inputs: [r.tensor([4, 6]), ints([1, -1]), ints([3, 0]), ints([0, 1]), ints([1, -2])],
        differentiable: [0]),
      Case(
        label: "Gather repeated indices", op: "Gather", attributes: ["axis": .int(1)],
        inputs: [r.tensor([2, 4]), Tensor(shape: [2, 2], ints: [0, 3, 1, -4])], differentiable: [0]),
      Case(
        label: "Trilu lower k = 1", op: "Trilu", attributes: ["upper": .int(0)],
        inputs: [r.tensor([2, 3, 4]), Tensor(shape: [], ints: [1])], differentiable: [0]),
      Case(
        label: "Resize nearest", op: "Resize", opset: 13,
        attributes: ["coordinate_transformation_mode": .string("asymmetric"), "nearest_mode": .string("floor")],
        inputs: [r.tensor([1, 2, 2, 3]), nil, Tensor(shape: [4], floats: [1, 1, 2, 1.5])], differentiable: [0]),
      Case(
        label: "Resize linear half_pixel sizes", op: "Resize", opset: 13, attributes: ["mode": .string("linear")],
        inputs: [r.tensor([1, 2, 3, 2]), nil, nil, Tensor(shape: [4], ints: [1, 2, 5, 3])], differentiable: [0]),
      Case(
        label: "Resize linear align_corners", op: "Resize", opset: 13,
        attributes: ["mode": .string("linear"), "coordinate_transformation_mode": .string("align_corners")],
        inputs: [r.tensor([1, 1, 3, 3]), nil, Tensor(shape: [4], floats: [1, 1, 1.7, 0.7])], differentiable: [0]),
      Case(
        label: "Upsample nearest", op: "Upsample", opset: 9,
        inputs: [r.tensor([1, 1, 2, 2]), Tensor(shape: [4], floats: [1, 1, 2, 3])], differentiable: [0]),
      Case(
        label: "DepthToSpace CRD", op: "DepthToSpace", attributes: ["blocksize": .int(2), "mode": .string("CRD")],
        inputs: [r.tensor([1, 8, 2, 3])], differentiable: [0]),
      Case(
        label: "SpaceToDepth", op: "SpaceToDepth", attributes: ["blocksize": .int(2)],
        inputs: [r.tensor([1, 2, 4, 2])],
        differentiable: [0]),
      Case(
        label: "GatherND batch_dims 1 repeated", op: "GatherND", attributes: ["batch_dims": .int(1)],
        inputs: [r.tensor([2, 3, 2]), Tensor(shape: [2, 2, 1], ints: [2, 2, 0, -1])], differentiable: [0]),
      Case(
        label: "CumSum exclusive reverse", op: "CumSum", attributes: ["exclusive": .int(1), "reverse": .int(1)],
        inputs: [r.tensor([2, 4]), Tensor(shape: [], ints: [1])], differentiable: [0]),
      Case(
        label: "TopK smallest", op: "TopK", attributes: ["axis": .int(1), "largest": .int(0)],
        inputs: [r.distinct([2, 5, 2]), Tensor(shape: [1], ints: [3])], differentiable: [0]),
      Case(label: "Expand", op: "Expand", inputs: [r.tensor([3, 1]), ints([2, 3, 4])], differentiable: [0]),
      Case(label: "Tile", op: "Tile", inputs: [r.tensor([2, 3]), ints([2, 1])], differentiable: [0]),
      Case(
        label: "Pad constant", op: "Pad",
        inputs: [r.tensor([1, 3, 3]), ints([0, 1, 2, 0, 2, -1]), Tensor(shape: [], floats: [0.5])], differentiable: [0]),
      Case(
        label: "Pad reflect", op: "Pad", attributes: ["mode": .string("reflect")],
        inputs: [r.tensor([1, 3, 4]), ints([0, 2, 1, 0, 1, 3])], differentiable: [0]),
      Case(
        label: "Pad edge", op: "Pad", attributes: ["mode": .string("edge")],
        inputs: [r.tensor([1, 3, 3]), ints([0, 2, 1, 0, 1, 2])], differentiable: [0]),
      Case(
        label: "Concat", op: "Concat", attributes: ["axis": .int(1)],
        inputs: [r.tensor([2, 1]), r.tensor([2, 3]), r.tensor([2, 2])], differentiable: [0, 1, 2]),
      Case(
        label: "Split", op: "Split", opset: 13, inputs: [r.tensor([6, 2]), ints([2, 4])], differentiable: [0],
        outputCount: 2),
      Case(
        label: "Split num_outputs", op: "Split", opset: 18, attributes: ["num_outputs": .int(3), "axis": .int(1)],
        inputs: [r.tensor([2, 7])], differentiable: [0], outputCount: 3),
      Case(
        label: "Clip", op: "Clip",
        inputs: [
          Tensor(shape: [5], floats: [-0.9, -0.35, 0.1, 0.45, 0.8]), Tensor(shape: [], floats: [-0.5]),
          Tensor(shape: [], floats: [0.6]),
        ],
        differentiable: [0]),
    ]
    return cases
  }()

  static func loss(_ interpreter: Interpreter, _ values: [String: Tensor], _ cotangents: [[Float]], outputs: [String])
    throws -> Double
  {
    let results = try interpreter.run(values)
    var total = 0.0
    for (name, u) in zip(outputs, cotangents) {
      guard let y = try results[name]?.floats("output") else { continue }
      for (a, b) in zip(y, u) { total += Double(a) * Double(b) }
    }
    return total
  }

  /// A one-node graph running one case.
  ///
  /// Its inputs are initializers x0, x1... ("" when omitted), its outputs y0, y1...
  struct SingleNode {
    var node: Node
    var inputNames: [String]
    var outputNames: [String]
    var initializers: [String: Tensor]
    var interpreter: Interpreter

    init(_ c: Case) throws {
      inputNames = c.inputs.indices.map { c.inputs[$0] == nil ? "" : "x\($0)" }
      outputNames = (0..<c.outputCount).map { "y\($0)" }
      initializers = [:]
      for (name, value) in zip(inputNames, c.inputs) where !name.isEmpty { initializers[name] = value }
      node = Node(
        name: c.label, opType: c.op, domain: "", inputs: inputNames, outputs: outputNames, attributes: c.attributes)
      let graph = Graph(
        nodes: [node], initializerNames: inputNames.filter { !$0.isEmpty }, initializers: initializers, inputs: [],
        outputs: outputNames.map { ValueInfo(name: $0, elementType: 1, shape: nil, isTensor: true) }, opset: c.opset)
      interpreter = try Interpreter(graph: graph)
    }
  }

  @Test(arguments: cases)
  func reversePassMatchesFiniteDifferences(_ c: Case) throws {
    let single = try SingleNode(c)
    let (inputNames, outputNames, initializers, interpreter) = (
      single.inputNames, single.outputNames, single.initializers, single.interpreter
    )
    let forward = try interpreter.run(initializers)
    var numbers = Numbers(state: 7)
    var seeds: [String: Tensor] = [:]
    var cotangents: [[Float]] = []
    for name in outputNames {
      let y = try #require(forward[name])
      let u = numbers.tensor(y.shape)
      seeds[name] = u
      cotangents.append(try u.floats("u"))
    }
    let sources = Set(c.differentiable.map { inputNames[$0] })
    // One cotangent row: the stacked gradients are [1] + the input's shape.
    let gradients = try interpreter.gradients(
      values: forward, seeds: seeds.mapValues { $0.reshaped([1] + $0.shape) }, rows: 1, sources: sources)
    let h: Float = 2e-3
    for slot in c.differentiable {
      let name = inputNames[slot]
      let x = try #require(initializers[name])
      let analytic = try #require(gradients[name], "no gradient for input \(slot)").floats("gradient")
      #expect(analytic.count == x.count)
      let values = try x.floats("input")
      for j in 0..<values.count {
        var plus = initializers
        var minus = initializers
        var up = values
        var down = values
        up[j] += h
        down[j] -= h
        plus[name] = Tensor(shape: x.shape, floats: up)
        minus[name] = Tensor(shape: x.shape, floats: down)
        let numeric =
          try
          (Self.loss(interpreter, plus, cotangents, outputs: outputNames)
          - Self.loss(interpreter, minus, cotangents, outputs: outputNames)) / Double(2 * h)
        let exact = Double(analytic[j])
        #expect(
          abs(numeric - exact) <= 1e-2 * max(abs(numeric), abs(exact)) + 2e-3,
          "input \(slot)[\(j)]: finite difference \(numeric), reverse pass \(exact)")
      }
    }
  }

  /// Every operator with a reverse pass has a case above.
  @Test func everyDifferentiableOperatorIsChecked() {
    let checked = Set(Self.cases.map(\.op))
    #expect(Set(OperatorRegistry.differentiableOperators).subtracting(checked).sorted() == [])
  }
}
