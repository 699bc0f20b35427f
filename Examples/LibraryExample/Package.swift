// swift-tools-version:6.0
// A package that uses SwiftVAE as a library, as a user would: the README's example, built by CI.
import PackageDescription

let package = Package(
    name: "LibraryExample",
    dependencies: [.package(name: "SwiftVAE", path: "../..")],
    targets: [
        .executableTarget(name: "LibraryExample", dependencies: [.product(name: "VAEKit", package: "SwiftVAE")]),
    ]
)
