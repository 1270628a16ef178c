// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "Ascent",
    products: [
        .library(name: "AscentIR", targets: ["AscentIR"]),
        .library(name: "AscentImage", targets: ["AscentImage"]),
        .library(name: "AscentONNX", targets: ["AscentONNX"]),
        .library(name: "AscentKeras", targets: ["AscentKeras"]),
        .library(name: "AscentRuntime", targets: ["AscentRuntime"]),
        .library(name: "AscentProbe", targets: ["AscentProbe"]),
        .library(name: "AscentModel", targets: ["AscentModel"]),
        .executable(name: "ascent", targets: ["ascent"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        // `swift package generate-documentation` (the DocC catalog in Sources/AscentModel); no target depends on it.
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
    ],
    targets: [
        // C libraries, each imported by exactly one Swift file.
        .systemLibrary(name: "CZlib", path: "Sources/CZlib"),
        .systemLibrary(name: "CHDF5", path: "Sources/CHDF5", pkgConfig: "hdf5-serial",
                       providers: [.apt(["libhdf5-dev"])]),
        .systemLibrary(name: "CDNNL", path: "Sources/CDNNL", providers: [.apt(["libdnnl-dev"])]),
        .target(name: "COnnx", path: "Sources/COnnx",
                cSettings: [.unsafeFlags(["-Wno-unused-parameter"])],
                linkerSettings: [.linkedLibrary("protobuf-c")]),
        .target(name: "CParallel", path: "Sources/CParallel", linkerSettings: [.linkedLibrary("gomp")]),

        // Swift modules.
        .target(name: "AscentIR"),
        .target(name: "AscentImage", dependencies: ["AscentIR", "CZlib"]),
        .target(name: "AscentONNX", dependencies: ["AscentIR", "COnnx"]),
        .target(name: "AscentKeras", dependencies: ["AscentIR", "AscentImage", "CHDF5"]),
        .target(name: "AscentRuntime", dependencies: ["AscentIR", "CDNNL", "CParallel"]),
        .target(name: "AscentProbe", dependencies: ["AscentIR", "AscentRuntime", "AscentImage"]),
        // Loading any model file and feeding it files: the front door for programs and the CLI.
        .target(name: "AscentModel", dependencies: ["AscentIR", "AscentImage", "AscentONNX", "AscentKeras"]),
        .executableTarget(name: "ascent", dependencies: [
            "AscentIR", "AscentImage", "AscentONNX", "AscentKeras", "AscentRuntime", "AscentProbe", "AscentModel",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        // Shared by the test targets: fixture paths, temporary folders, closeness checks.
        .target(name: "AscentTestSupport", dependencies: ["AscentIR"], path: "Tests/AscentTestSupport"),
        .testTarget(name: "AscentIRTests", dependencies: ["AscentIR", "AscentTestSupport"]),
        .testTarget(name: "AscentImageTests", dependencies: ["AscentImage", "AscentIR", "AscentTestSupport"]),
        .testTarget(name: "AscentONNXTests", dependencies: ["AscentONNX", "AscentIR", "AscentTestSupport"]),
        .testTarget(name: "AscentKerasTests", dependencies: ["AscentKeras", "AscentIR", "AscentTestSupport"]),
        .testTarget(name: "AscentRuntimeTests", dependencies: ["AscentRuntime", "AscentIR", "AscentTestSupport"]),
        .testTarget(name: "AscentProbeTests", dependencies: ["AscentProbe", "AscentKeras", "AscentONNX", "AscentImage", "AscentRuntime", "AscentIR", "AscentTestSupport"]),
        .testTarget(name: "IntegrationTests", dependencies: [
            "AscentIR", "AscentKeras", "AscentONNX", "AscentRuntime", "AscentTestSupport",
        ], exclude: ["onnx-node-tests.txt", "onnx-export-tests.txt"]),
        .testTarget(name: "AscentModelTests", dependencies: ["AscentModel", "AscentImage", "AscentIR", "AscentProbe", "AscentRuntime", "AscentTestSupport"]),
        .testTarget(name: "ascentTests", dependencies: ["AscentIR", "AscentImage", "AscentProbe", "AscentTestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
