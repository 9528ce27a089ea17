// swift-tools-version:6.0
import PackageDescription

// Target graph (one-way): CBLAS, CZlib <- Nabla <- nabla (CLI).
// Inside Nabla the folders follow the layering Tensor <- Autograd <- Ops <- Layers <- Optimizers,
// with IO depending only on Tensor.
let package = Package(
    name: "Nabla",
    platforms: [.macOS(.v13)],
    products: [
        .library(name: "Nabla", targets: ["Nabla"]),
        .executable(name: "nabla", targets: ["nabla"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
        .systemLibrary(
            name: "CBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]
        ),
        .systemLibrary(
            name: "CZlib",
            providers: [.apt(["zlib1g-dev"])]
        ),
        .systemLibrary(name: "CMalloc"),
        .target(
            name: "Nabla",
            dependencies: [
                .target(name: "CBLAS", condition: .when(platforms: [.linux])),
                .product(name: "Yams", package: "Yams"),
                "CZlib",
                .target(name: "CMalloc", condition: .when(platforms: [.linux])),
            ],
            swiftSettings: [.unsafeFlags(["-Ounchecked", "-cross-module-optimization", "-Xcc", "-fno-math-errno"], .when(configuration: .release))],
            linkerSettings: [.linkedFramework("Accelerate", .when(platforms: [.macOS]))]
        ),
        .executableTarget(
            name: "nabla",
            dependencies: [
                "Nabla",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: [.unsafeFlags(["-cross-module-optimization"], .when(configuration: .release))]
        ),
        .testTarget(
            name: "NablaTests",
            dependencies: ["Nabla"],
            resources: [.copy("Fixtures")]
        ),
    ],
    swiftLanguageModes: [.v5]
)
