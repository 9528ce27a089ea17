// swift-tools-version:6.1
import PackageDescription

// A package that uses Nabla as a library, the way any other project would: it adds a layer of its
// own (Swish, in the `CustomLayers` library) and trains a model that uses it (the `CustomModel`
// executable). `make example` in the Nabla repository builds and runs it.
let package = Package(
    name: "CustomModel",
    platforms: [.macOS(.v13)],
    dependencies: [
        // Outside this repository, depend on a released version instead:
        //   .package(url: "https://github.com/<owner>/nabla", from: "1.0.0"),
        .package(name: "Nabla", path: "../.."),
    ],
    targets: [
        // A library of layers built on Nabla's public API, depending only on the parts it uses.
        .target(
            name: "CustomLayers",
            dependencies: [
                .product(name: "NablaTensor", package: "Nabla"),
                .product(name: "NablaNN", package: "Nabla"),
            ]
        ),
        // Trains a model file that names the new layer; exits non-zero when a check fails.
        .executableTarget(
            name: "CustomModel",
            dependencies: ["CustomLayers", .product(name: "Nabla", package: "Nabla")],
            resources: [.copy("spiral-swish.yaml")]
        ),
    ]
)
