// swift-tools-version:6.0
// The package reads bottom-up as the architecture: the C ABI and system libraries, then
// file formats and the backend loader, then the kernel stage, surrogate and reporter, and
// the CLI on top. Backends live in Plugins/, each its own `.dynamic` product that the host
// only ever reaches through `dlopen` and the C ABI.
import PackageDescription

let package = Package(
  name: "entk",
  products: [
    .executable(name: "entk", targets: ["EntkCLI"]),
    .library(name: "entk-backend-example-c", type: .dynamic, targets: ["EntkBackendExampleC"]),
    .library(name: "entk-backend-onnx", type: .dynamic, targets: ["ONNXBackend"]),
    .library(name: "entk-backend-swiftnet", type: .dynamic, targets: ["SwiftNetBackend"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0")
  ],
  targets: [
    // MARK: Foundations: the ABI header and system libraries
    .target(name: "CEntkABI"),
    // Vectorised candidates for the Gaussian projection entries (checked and completed in Kernels).
    .target(name: "CDenseProjection"),
    .systemLibrary(name: "COpenBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
    .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),

    // MARK: Host layers
    .target(name: "ArrayIO", dependencies: ["CZlib"]),
    .target(name: "BackendLoader", dependencies: ["CEntkABI"]),
    .target(name: "Conformance", dependencies: ["BackendLoader"]),
    .target(name: "Kernels", dependencies: ["ArrayIO", "BackendLoader", "COpenBLAS", "CDenseProjection"]),
    .target(name: "Surrogate", dependencies: ["COpenBLAS"]),
    .target(name: "Faithfulness", dependencies: ["Surrogate"]),
    .target(name: "Attribution", dependencies: ["Surrogate"]),
    // Counterfactual checks of attributions: LDS, mislabel detection, their statistics.
    .target(name: "Evaluation", dependencies: ["Faithfulness"]),
    .target(name: "Reporter", dependencies: ["ArrayIO", "Surrogate", "Faithfulness", "Attribution", "Evaluation"]),
    // The attribution pipeline, kernels to bundle: what `entk attribute` and `entk evaluate` run.
    .target(
      name: "AttributionPipeline",
      dependencies: ["ArrayIO", "BackendLoader", "Kernels", "Surrogate", "Faithfulness", "Attribution", "Reporter"]),

    // MARK: Command-line interface
    .executableTarget(
      name: "EntkCLI",
      dependencies: [
        "ArrayIO", "BackendLoader", "Conformance", "Kernels", "Surrogate", "Faithfulness", "Attribution", "Evaluation",
        "Reporter", "AttributionPipeline", .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ]
    ),

    // MARK: Backends (shared libraries loaded by the host through the C ABI)
    .target(name: "EntkBackendExampleC", dependencies: ["CEntkABI"], path: "Plugins/ExampleC"),
    // protoc-c output for onnx.proto, committed (tools/generate-onnx-proto.sh regenerates it).
    .target(
      name: "COnnxProto", path: "Plugins/ONNX/COnnxProto", linkerSettings: [.linkedLibrary("protobuf-c")]),
    .target(
      name: "ONNXBackend", dependencies: ["CEntkABI", "COnnxProto", "COpenBLAS"], path: "Plugins/ONNX/ONNXBackend"),
    .target(name: "SwiftNetBackend", dependencies: ["CEntkABI", "COpenBLAS"], path: "Plugins/SwiftNet"),

    // MARK: Tests (one test target per module; EntkTestSupport is shared fixtures and helpers)
    .target(name: "EntkTestSupport", dependencies: ["CEntkABI", "Surrogate"], path: "Tests/EntkTestSupport"),
    .testTarget(name: "ArrayIOTests", dependencies: ["ArrayIO", "EntkTestSupport"]),
    .testTarget(name: "BackendLoaderTests", dependencies: ["BackendLoader", "ArrayIO", "EntkTestSupport"]),
    .testTarget(name: "ConformanceTests", dependencies: ["Conformance", "BackendLoader", "EntkTestSupport"]),
    .testTarget(
      name: "KernelsTests", dependencies: ["Kernels", "BackendLoader", "ArrayIO", "COpenBLAS", "EntkTestSupport"]),
    .testTarget(name: "SurrogateTests", dependencies: ["Surrogate", "ArrayIO", "COpenBLAS", "EntkTestSupport"]),
    .testTarget(name: "FaithfulnessTests", dependencies: ["Faithfulness", "Surrogate", "ArrayIO", "EntkTestSupport"]),
    .testTarget(name: "AttributionTests", dependencies: ["Attribution", "Surrogate", "EntkTestSupport"]),
    .testTarget(name: "EvaluationTests", dependencies: ["Evaluation"]),
    .testTarget(
      name: "ReporterTests",
      dependencies: ["Reporter", "ArrayIO", "EntkTestSupport"]),
    .testTarget(
      name: "AttributionPipelineTests",
      dependencies: ["AttributionPipeline", "ArrayIO", "Reporter", "Surrogate", "EntkTestSupport"]),
    .testTarget(name: "CLITests", dependencies: ["EntkCLI", "ArrayIO", "Kernels", "EntkTestSupport"]),
    .testTarget(name: "ExampleCBackendTests", dependencies: ["BackendLoader", "ArrayIO", "EntkTestSupport"]),
    .testTarget(
      name: "ONNXBackendTests", dependencies: ["ONNXBackend", "BackendLoader", "ArrayIO", "EntkTestSupport"]),
    .testTarget(
      name: "SwiftNetBackendTests", dependencies: ["BackendLoader", "Conformance", "ArrayIO", "EntkTestSupport"]),
  ]
)
