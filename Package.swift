// swift-tools-version:6.0
import PackageDescription

// No unsafe flags anywhere: VAEKit must stay usable as a versioned dependency.
// Speed comes from the C micro-kernels in CVAEKernels, which pick AVX-512 / AVX2 / portable
// code at run time (see docs/design.md).
let package = Package(
    name: "SwiftVAE",
    platforms: [.macOS(.v13)],
    products: [
        .library(name: "VAECore", targets: ["VAECore"]),
        .library(name: "VAEKit", targets: ["VAEKit"]),
        .library(name: "VAEViz", targets: ["VAEViz"]),
        .library(name: "VAEImageIO", targets: ["VAEImageIO"]),
        .executable(name: "vae", targets: ["vae"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-numerics", from: "1.0.0"),
        // `swift package generate-documentation --target VAEKit` (the DocC catalog in
        // Sources/VAEKit/VAEKit.docc); a command plugin only, no target depends on it.
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.4.0"),
    ],
    targets: [
        .target(
            name: "CVAEKernels",
            cSettings: [.define("_GNU_SOURCE")],
            linkerSettings: [.linkedLibrary("pthread"), .linkedLibrary("dl", .when(platforms: [.linux]))]
        ),
        .target(name: "CZlib", linkerSettings: [.linkedLibrary("z")]),
        // libturbojpeg through dlopen (like OpenBLAS): builds and runs without it.
        .target(name: "CTurboJPEG", linkerSettings: [.linkedLibrary("dl", .when(platforms: [.linux]))]),
        .target(name: "VAECore", dependencies: ["CVAEKernels", .product(name: "RealModule", package: "swift-numerics")]),
        // Image file codecs (PNG with system zlib, JPEG with libturbojpeg), shared by VAEKit's
        // image-folder loader and VAEViz's pictures.
        .target(name: "VAEImageIO", dependencies: ["CZlib", "CTurboJPEG"]),
        .target(name: "VAEKit", dependencies: ["VAECore", "CZlib", "VAEImageIO", .product(name: "RealModule", package: "swift-numerics")]),
        .target(name: "VAEViz", dependencies: ["CZlib", "VAEImageIO", .product(name: "RealModule", package: "swift-numerics")]),
        .executableTarget(
            name: "vae",
            dependencies: [
                "VAEKit", "VAEViz",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // Parser fuzz targets (libFuzzer build: fuzz/run.sh); a plain build is a reproducer.
        .executableTarget(name: "vae-fuzz", dependencies: ["VAEKit", "VAEViz"]),
        .testTarget(name: "VAECoreTests", dependencies: ["VAECore"]),
        .testTarget(name: "VAEKitTests", dependencies: ["VAEKit", "VAECore", "VAEImageIO"], resources: [.copy("Fixtures")]),
        .testTarget(name: "VAEImageIOTests", dependencies: ["VAEImageIO", "CZlib"]),
        .testTarget(name: "VAEVizTests", dependencies: ["VAEViz", "VAEImageIO", "CZlib"]),
        .testTarget(name: "CLITests", dependencies: ["VAEViz", "VAEKit"]),
    ]
)
