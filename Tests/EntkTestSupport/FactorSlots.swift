import CEntkABI
import Foundation

/// A model opened through a backend's C table directly (`dlopen`/`dlsym`), to call the ABI 1.1
/// slots `group_factor` and `factored_jacobian` with arguments the loader's `BackendModel` would
/// refuse before the call (n ≤ 0, out-of-range indices, a short `struct_size`).
///
/// The handle is closed on deinit; the library stays loaded (never `dlclose` a backend).
public final class FactorSlots {
  /// One `entk_group_factor` answer.
  public struct Factor: Equatable, Sendable {
    public var factored: Bool
    /// I, the length of a(x); 0 when unfactored.
    public var inputDim: Int
    /// O, the length of each Δ_c(x); 0 when unfactored.
    public var outputDim: Int
    /// R, the outer products summed (ABI 1.3); 1 for one.
    public var terms: Int
    /// Whether each a_r is one-hot, stored as its index.
    public var oneHot: Bool

    public init(factored: Bool, inputDim: Int, outputDim: Int, terms: Int = 1, oneHot: Bool = false) {
      self.factored = factored
      self.inputDim = inputDim
      self.outputDim = outputDim
      self.terms = terms
      self.oneHot = oneHot
    }

    /// Floats of the a's in a row: R indices when one-hot, else R × I.
    public var inputFloats: Int { oneHot ? terms : terms * inputDim }

    public static let plain = Factor(factored: false, inputDim: 0, outputDim: 0)
  }

  /// A call that returned a status other than ENTK_OK, with the backend's message.
  public struct CallFailure: Error, CustomStringConvertible {
    public let call: String
    public let status: UInt32
    public let message: String

    public var isInvalidArgument: Bool { status == ENTK_STATUS_INVALID_ARGUMENT.rawValue }
    public var description: String { "\(call) returned status \(status): \(message)" }
  }

  /// Why the slots could not be reached at all.
  public struct SetupFailure: Error, CustomStringConvertible {
    public let description: String
  }

  private let groupFactorCall: FactorCall
  private let factoredJacobianCall: FactoredJacobianCall
  private let close: CloseCall
  private let model: OpaquePointer
  /// The table's `struct_size` and ABI minor, as the backend reported them.
  public let tableSize: Int
  public let abiMinor: Int

  private typealias FactorCall =
    @convention(c) (
      OpaquePointer, Int64, UnsafeMutablePointer<entk_group_factor>, UnsafeMutablePointer<CChar>?, Int
    ) -> entk_status
  private typealias FactoredJacobianCall =
    @convention(c) (
      OpaquePointer, UnsafePointer<Float>, Int64, UnsafeMutablePointer<Float>, UnsafeMutablePointer<CChar>?, Int
    ) -> entk_status
  private typealias CloseCall = @convention(c) (OpaquePointer?) -> Void

  /// The table size of a backend that fills both ABI 1.1 slots.
  public static var fullTableSize: Int {
    (MemoryLayout<entk_backend_api>.offset(of: \.factored_jacobian) ?? .max) + MemoryLayout<UInt>.size
  }

  /// Loads the backend library file `backend` from the products folder and opens `modelPath`.
  ///
  /// `backend` is a file name such as "libentk-backend-example-c.so"; `options` is `open`'s options_json.
  public init(backend: String, model modelPath: String, options: String? = nil) throws {
    let path = TestEnvironment.productsDirectory.appendingPathComponent(backend).path
    guard let handle = dlopen(path, RTLD_NOW | RTLD_LOCAL), let entry = dlsym(handle, ENTK_BACKEND_ENTRY_V1) else {
      throw SetupFailure(description: "\(path): cannot load the backend or find \(ENTK_BACKEND_ENTRY_V1)")
    }
    guard let table = unsafeBitCast(entry, to: entk_backend_v1_fn.self)() else {
      throw SetupFailure(description: "\(path): entry point returned NULL")
    }
    tableSize = table.pointee.struct_size
    abiMinor = Int(table.pointee.abi_version_minor)
    // Slots past struct_size are not the backend's to answer for: read them only when declared.
    guard tableSize >= Self.fullTableSize, let groupFactor = table.pointee.group_factor,
      let factoredJacobian = table.pointee.factored_jacobian
    else {
      throw SetupFailure(description: "\(path): the table (\(tableSize) bytes) has no factor slots")
    }
    groupFactorCall = groupFactor
    factoredJacobianCall = factoredJacobian
    close = table.pointee.close
    var error = [CChar](repeating: 0, count: 1024)
    var opened: OpaquePointer?
    let status = table.pointee.open(modelPath, options, &opened, &error, error.count)
    guard status == ENTK_OK, let opened else {
      throw SetupFailure(description: "open \(modelPath): \(Self.text(error))")
    }
    model = opened
  }

  deinit { close(model) }

  /// `group_factor` for group `index`, telling the backend the struct is `structSize` bytes.
  public func groupFactor(_ index: Int, structSize: Int = MemoryLayout<entk_group_factor>.size) throws(CallFailure)
    -> Factor
  {
    var factor = entk_group_factor()
    factor.struct_size = structSize
    var error = [CChar](repeating: 0, count: 1024)
    let status = groupFactorCall(model, Int64(index), &factor, &error, error.count)
    guard status == ENTK_OK else {
      throw CallFailure(call: "group_factor(\(index))", status: status.rawValue, message: Self.text(error))
    }
    return Factor(
      factored: factor.factored != 0, inputDim: Int(factor.input_dim), outputDim: Int(factor.output_dim),
      terms: max(1, Int(factor.terms)), oneHot: factor.one_hot != 0)
  }

  /// `factored_jacobian` on `n` samples, each row `rowSize` floats (n × rowSize out).
  public func factoredJacobian(_ inputs: [Float], count n: Int, rowSize: Int) throws(CallFailure) -> [Float] {
    // NaN-filled, so a float the backend leaves unwritten cannot pass for a correct value.
    var out = [Float](repeating: .nan, count: max(0, n) * rowSize)
    var error = [CChar](repeating: 0, count: 1024)
    let status = factoredJacobianCall(model, inputs, Int64(n), &out, &error, error.count)
    guard status == ENTK_OK else {
      throw CallFailure(call: "factored_jacobian", status: status.rawValue, message: Self.text(error))
    }
    return out
  }

  /// Jacobian rows (n × C × P) rebuilt from `group_factor` and `factored_jacobian` on `inputs`.
  ///
  /// `weightColumns[g]` is the `in` of factored group g's dense layout (see `jacobian(fromFactored:)`).
  public func rebuiltJacobian(
    _ inputs: [Float], count n: Int, classes c: Int, groups: [(offset: Int, count: Int)], weightColumns: [Int]
  ) throws(CallFailure) -> [Float] {
    var factors: [Factor] = []
    for index in groups.indices { factors.append(try groupFactor(index)) }
    let rowSize = Self.rowSize(classes: c, groupCounts: groups.map(\.count), factors: factors)
    return Self.jacobian(
      fromFactored: try factoredJacobian(inputs, count: n, rowSize: rowSize), count: n, classes: c, groups: groups,
      factors: factors
    ) { g, o, j in
      // A dense layer: the weight [O, in] row-major, then (when I = in + 1) the bias.
      let columns = weightColumns[g]
      return j < columns ? o * columns + j : factors[g].outputDim * columns + o
    }
  }

  /// Calls the ABI says must fail with INVALID_ARGUMENT, each with what it returned (nil: it
  /// succeeded): n = 0 and n = −1 on `sample` (one sample's input), group indices −1 and
  /// `groupCount`, and a `struct_size` too small to hold the answer.
  public func invalidCalls(sample: [Float], groupCount: Int) -> [(label: String, failure: CallFailure?)] {
    func failure(_ call: () throws(CallFailure) -> Void) -> CallFailure? {
      do {
        try call()
        return nil
      } catch {
        return error
      }
    }
    return [
      ("n = 0", failure { () throws(CallFailure) in _ = try factoredJacobian(sample, count: 0, rowSize: 1) }),
      ("n = -1", failure { () throws(CallFailure) in _ = try factoredJacobian(sample, count: -1, rowSize: 1) }),
      ("index -1", failure { () throws(CallFailure) in _ = try groupFactor(-1) }),
      ("index \(groupCount)", failure { () throws(CallFailure) in _ = try groupFactor(groupCount) }),
      ("struct_size 8", failure { () throws(CallFailure) in _ = try groupFactor(0, structSize: 8) }),
    ]
  }

  /// The largest |a − b| over two equally long arrays, relative to the largest |b|; infinite
  /// when the lengths differ, NaN-safe (a NaN counts as infinitely wrong).
  public static func relativeDifference(_ a: [Float], _ b: [Float]) -> Float {
    guard a.count == b.count else { return .infinity }
    let scale = max(b.map(abs).max() ?? 1, .leastNormalMagnitude)
    return zip(a, b).reduce(0) { worst, pair in
      let difference = abs(pair.0 - pair.1)
      return difference.isNaN ? .infinity : max(worst, difference / scale)
    }
  }

  /// The NUL-terminated message in an error buffer.
  private static func text(_ buffer: [CChar]) -> String {
    String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
  }

  /// Floats in one `factored_jacobian` row: C·P_plain + Σ over factored groups of (a's + C·R·O).
  public static func rowSize(classes c: Int, groupCounts: [Int], factors: [Factor]) -> Int {
    zip(groupCounts, factors).reduce(0) {
      $0 + ($1.1.factored ? $1.1.inputFloats + c * $1.1.terms * $1.1.outputDim : c * $1.0)
    }
  }

  /// Rebuilds Jacobian rows (n × C × P) from `factored` rows: the plain block's columns, and
  /// Δ_c[o]·a[j] at parameter `group.offset + position(g, o, j)` of each factored group g (π).
  ///
  /// Entries no group writes stay NaN, so a π that is not onto shows up as a mismatch.
  public static func jacobian(
    fromFactored factored: [Float], count n: Int, classes c: Int, groups: [(offset: Int, count: Int)],
    factors: [Factor], position: (_ group: Int, _ o: Int, _ j: Int) -> Int
  ) -> [Float] {
    let p = groups.last.map { $0.offset + $0.count } ?? 0
    let plainCount = zip(groups, factors).reduce(0) { $0 + ($1.1.factored ? 0 : $1.0.count) }
    let rowSize = rowSize(classes: c, groupCounts: groups.map(\.count), factors: factors)
    var jacobian = [Float](repeating: .nan, count: n * c * p)
    for i in 0..<n {
      let row = i * rowSize
      var plainColumn = 0
      var factorStart = row + c * plainCount
      for (g, group) in groups.enumerated() {
        let factor = factors[g]
        guard factor.factored else {
          for k in 0..<c {
            for q in 0..<group.count {
              jacobian[(i * c + k) * p + group.offset + q] = factored[row + k * plainCount + plainColumn + q]
            }
          }
          plainColumn += group.count
          continue
        }
        let (inputDim, outputDim, terms) = (factor.inputDim, factor.outputDim, factor.terms)
        let deltas = factorStart + factor.inputFloats
        // Σ_r Δ_{c,r}[o]·a_r[j]: a sum of several terms starts from zeros (a one-hot term touches one j).
        let summed = terms > 1 || factor.oneHot
        for k in 0..<c {
          if summed {
            for q in 0..<group.count { jacobian[(i * c + k) * p + group.offset + q] = 0 }
          }
          for r in 0..<terms {
            for o in 0..<outputDim {
              let delta = factored[deltas + (k * terms + r) * outputDim + o]
              if factor.oneHot {
                let index = Int(factored[factorStart + r])
                guard index >= 0 else { continue }
                jacobian[(i * c + k) * p + group.offset + position(g, o, index)] += delta
                continue
              }
              for j in 0..<inputDim {
                let value = factored[factorStart + r * inputDim + j] * delta
                let at = (i * c + k) * p + group.offset + position(g, o, j)
                jacobian[at] = summed ? jacobian[at] + value : value
              }
            }
          }
        }
        factorStart = deltas + c * terms * outputDim
      }
    }
    return jacobian
  }
}
