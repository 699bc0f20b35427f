// swift-tools-version:6.0
import PackageDescription

// No unsafe flags anywhere: VAEKit must stay usable as a versioned dependency.
// Speed comes from the C micro-kernels in CVAEKernels, which pick AVX-512 / AVX2 / portable
// code at run time (see README, "Design").
let package = Package(
    name: "SwiftVAE",
    platforms: [.macOS(.v13)],
    products: [
        .library(name: "VAECore", targets: ["VAECore"]),
        .library(name: "VAEKit", targets: ["VAEKit"]),
        .library(name: "VAEViz", targets: ["VAEViz"]),
        .executable(name: "vae", targets: ["vae"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-numerics", from: "1.0.0"),
    ],
    targets: [
        .target(
            name: "CVAEKernels",
            cSettings: [.define("_GNU_SOURCE")],
            linkerSettings: [.linkedLibrary("pthread"), .linkedLibrary("dl", .when(platforms: [.linux]))]
        ),
        .target(name: "CZlib", linkerSettings: [.linkedLibrary("z")]),
        .target(name: "VAECore", dependencies: ["CVAEKernels", .product(name: "RealModule", package: "swift-numerics")]),
        .target(name: "VAEKit", dependencies: ["VAECore", "CZlib", .product(name: "RealModule", package: "swift-numerics")]),
        .target(name: "VAEViz", dependencies: ["CZlib", .product(name: "RealModule", package: "swift-numerics")]),
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
        .testTarget(name: "VAEKitTests", dependencies: ["VAEKit", "VAECore"], resources: [.copy("Fixtures")]),
        .testTarget(name: "VAEVizTests", dependencies: ["VAEViz"]),
        .testTarget(name: "CLITests", dependencies: ["VAEViz", "VAEKit"]),
    ]
)
