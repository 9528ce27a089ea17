// swift-tools-version:6.1
import PackageDescription

// The target graph is one-way; each library target depends only on targets above it in this list
// (checked by `make check-imports`, Scripts/check-imports.py):
//
//   NablaTensor    tensors, BLAS, the parallel-for, autograd            (CBLAS, CMalloc, CNablaKernels, CNablaBF16)
//   NablaIO        safetensors, npy/npz, IDX, CSV, zip/inflate           (NablaTensor, CZlib)
//   NablaNN        ops, layers, init, losses, penalties, gradcheck, model files (NablaTensor, NablaIO, CNablaKernels, Yams)
//   NablaOptim     optimizers, schedules, constraints, clipping, early stopping (NablaTensor, NablaNN)
//   NablaData      datasets, loader, augmentation                        (NablaTensor, NablaIO, CPNG)
//   NablaDistributed  process groups: collectives over Open MPI, or one process (CMPI with the MPI trait)
//   NablaTraining  trainer, checkpoints, metrics, logs, training plans, data parallelism (all of the above)
//   NablaStudies   studies, statistics, reports, charts                  (all of the above)
//   Nabla          the umbrella: re-exports every library target
//   nabla          the command-line tool
let libraries: [(name: String, dependencies: [Target.Dependency])] = [
    ("NablaTensor", [
        .target(name: "CBLAS", condition: .when(platforms: [.linux])),
        .target(name: "CMalloc", condition: .when(platforms: [.linux])),
        "CNablaKernels",
        "CNablaBF16",
    ]),
    ("NablaIO", ["NablaTensor", "CZlib"]),
    ("NablaNN", ["NablaTensor", "NablaIO", "CNablaKernels", .product(name: "Yams", package: "Yams")]),
    ("NablaOptim", ["NablaTensor", "NablaNN"]),
    ("NablaData", ["NablaTensor", "NablaIO", "CPNG"]),
    // Needs no other Nabla target; Open MPI only with the `MPI` trait (see `traits` below).
    ("NablaDistributed", [.target(name: "CMPI", condition: .when(traits: ["MPI"]))]),
    ("NablaTraining", ["NablaTensor", "NablaIO", "NablaNN", "NablaOptim", "NablaData", "NablaDistributed"]),
    ("NablaStudies", ["NablaTensor", "NablaIO", "NablaNN", "NablaOptim", "NablaData", "NablaDistributed", "NablaTraining"]),
]

let package = Package(
    name: "Nabla",
    platforms: [.macOS(.v13)],
    // `Nabla` for an application; each library target on its own for a package that needs only
    // part of it (a new layer needs `NablaTensor` and `NablaNN`).
    products: [.library(name: "Nabla", targets: ["Nabla"])]
        + libraries.map { .library(name: $0.name, targets: [$0.name]) }
        + [.executable(name: "nabla", targets: ["nabla"])],
    // `MPI` (on by default): multi-process data parallelism through Open MPI (Debian: libopenmpi-dev,
    // openmpi-bin; `make deps` installs them). `swift build --disable-default-traits`, or a dependent
    // package's `.package(…, traits: [])`, builds every library without <mpi.h> or libmpi: then only
    // the single-process group exists, and `mpirun -np K` with K > 1 is refused with a clear error.
    traits: [
        .trait(name: "MPI", description: "Multi-process data parallelism through Open MPI (libopenmpi-dev, openmpi-bin)."),
        .default(enabledTraits: ["MPI"]),
    ],
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
        // Open MPI's C API, with a shim for the handles that are macros (MPI_COMM_WORLD, MPI_FLOAT, …).
        .systemLibrary(name: "CMPI", pkgConfig: "ompi-c", providers: [.apt(["libopenmpi-dev"]), .brew(["open-mpi"])]),
        // Header-only: the SIMD width the Swift code is compiled for.
        .systemLibrary(name: "CNablaKernels"),
        // Compiled C (not header-only): bf16 rounding and the bf16 matrix product of `--precision bf16`.
        // Its AVX512_BF16 functions carry `target` attributes and are chosen at run time (cpuid), so
        // the target builds for any x86-64 and for arm64 (portable code only).
        .target(name: "CNablaBF16"),
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
        // The program NablaDistributedTests starts under `mpirun` to check every collective across processes.
        .executableTarget(name: "mpi-selftest", dependencies: ["NablaDistributed"]),
        // Shared test helpers and the committed PyTorch fixtures (Tests/NablaTestSupport/Fixtures).
        .target(
            name: "NablaTestSupport",
            dependencies: ["NablaTensor", "NablaIO"],
            path: "Tests/NablaTestSupport",
            resources: [.copy("Fixtures")]
        ),
    ] + libraries.map { library in
        // One test target per library target.
        .testTarget(name: library.name + "Tests",
                    dependencies: [.target(name: library.name), "NablaTestSupport"]
                        + (library.name == "NablaDistributed" ? ["mpi-selftest"] : []))
    } + [
        // The README's examples through the umbrella module, and the `nabla` executable end to end.
        .testTarget(name: "NablaTests", dependencies: ["Nabla", "NablaTestSupport"]),
        .testTarget(name: "NablaCLITests", dependencies: ["Nabla", "NablaTestSupport"]),
    ],
    swiftLanguageModes: [.v5]
)
