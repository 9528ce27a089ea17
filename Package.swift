// swift-tools-version:6.1
import PackageDescription

// The target graph is one-way; each library target depends only on targets above it in this list
// (checked by `make check-imports`, Scripts/check-imports.py):
//
//   NablaTensor    tensors, BLAS, the parallel-for, autograd            (CBLAS, CMalloc, CNablaKernels)
//   NablaIO        safetensors, npy/npz, IDX, CSV, zip/inflate           (NablaTensor, CZlib)
//   NablaNN        ops, layers, init, losses, penalties, gradcheck, model files (NablaTensor, NablaIO, CNablaKernels, Yams)
//   NablaOptim     optimizers, schedules, constraints, clipping, early stopping (NablaTensor, NablaNN)
//   NablaData      datasets, loader, augmentation                        (NablaTensor, NablaIO, CPNG)
//   NablaTraining  trainer, checkpoints, metrics, logs, training plans   (all of the above)
//   NablaStudies   studies, statistics, reports, charts                  (all of the above)
//   Nabla          the umbrella: re-exports every library target
//   nabla          the command-line tool
let libraries: [(name: String, dependencies: [Target.Dependency])] = [
    ("NablaTensor", [
        .target(name: "CBLAS", condition: .when(platforms: [.linux])),
        .target(name: "CMalloc", condition: .when(platforms: [.linux])),
        "CNablaKernels",
    ]),
    ("NablaIO", ["NablaTensor", "CZlib"]),
    ("NablaNN", ["NablaTensor", "NablaIO", "CNablaKernels", .product(name: "Yams", package: "Yams")]),
    ("NablaOptim", ["NablaTensor", "NablaNN"]),
    ("NablaData", ["NablaTensor", "NablaIO", "CPNG"]),
    ("NablaTraining", ["NablaTensor", "NablaIO", "NablaNN", "NablaOptim", "NablaData"]),
    ("NablaStudies", ["NablaTensor", "NablaIO", "NablaNN", "NablaOptim", "NablaData", "NablaTraining"]),
]

let package = Package(
    name: "Nabla",
    platforms: [.macOS(.v13)],
    // `Nabla` for an application; each library target on its own for a package that needs only
    // part of it (a new layer needs `NablaTensor` and `NablaNN`).
    products: [.library(name: "Nabla", targets: ["Nabla"])]
        + libraries.map { .library(name: $0.name, targets: [$0.name]) }
        + [.executable(name: "nabla", targets: ["nabla"])],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        // `make docs`: swift package generate-documentation (DocC catalogs in Sources/*/*.docc).
        .package(url: "https://github.com/swiftlang/swift-docc-plugin", from: "1.5.0"),
    ],
    targets: [
        .systemLibrary(name: "CBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CZlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CPNG", pkgConfig: "libpng", providers: [.apt(["libpng-dev"]), .brew(["libpng"])]),
        .systemLibrary(name: "CMalloc"),
        // Header-only: the SIMD width the Swift code is compiled for, and the bf16 dot-product kernels.
        .systemLibrary(name: "CNablaKernels"),
    ] + libraries.map { library in
        .target(
            name: library.name,
            dependencies: library.dependencies,
            linkerSettings: library.name == "NablaTensor"
                ? [.linkedFramework("Accelerate", .when(platforms: [.macOS]))] : []
        )
    } + [
        .target(name: "Nabla", dependencies: libraries.map { .target(name: $0.name) }),
        .executableTarget(
            name: "nabla",
            dependencies: ["Nabla", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        // Shared test helpers and the committed PyTorch fixtures (Tests/NablaTestSupport/Fixtures).
        .target(
            name: "NablaTestSupport",
            dependencies: ["NablaTensor", "NablaIO"],
            path: "Tests/NablaTestSupport",
            resources: [.copy("Fixtures")]
        ),
    ] + libraries.map { library in
        // One test target per library target.
        .testTarget(name: library.name + "Tests", dependencies: [.target(name: library.name), "NablaTestSupport"])
    } + [
        // The README's examples through the umbrella module, and the `nabla` executable end to end.
        .testTarget(name: "NablaTests", dependencies: ["Nabla", "NablaTestSupport"]),
        .testTarget(name: "NablaCLITests", dependencies: ["Nabla", "NablaTestSupport"]),
    ],
    swiftLanguageModes: [.v5]
)
