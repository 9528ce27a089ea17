import Foundation
import NablaTensor

/// A dataset named by `nabla train --data SPEC`, parsed without touching the disk and loaded with
/// ``load(seed:)``.
///
/// The forms a spec can take live in the ``DatasetRegistry`` (`[?key=value&…]` parameters where
/// listed; an unknown key is an error):
///
/// | spec | dataset |
/// |---|---|
/// | `fashion-mnist` | Fashion-MNIST from `/usr/share/datasets/fashion-mnist` (Debian `dataset-fashion-mnist`) |
/// | `mnist:DIR[?classes=N]` | MNIST-family IDX files in DIR (see ``MNIST``), N classes (10) |
/// | `cifar10:DIR`, `cifar100:DIR` | CIFAR binary batches (see ``CIFAR``) |
/// | `images:DIR` | PNG images in class folders, torchvision's `ImageFolder` layout (see ``ImageFolder``) |
/// | `FILE.safetensors` | tensors `x`, `y` [, `x_test`, `y_test`] (`ArrayDataset`) |
/// | `FILE.npz` | arrays `x.npy`, `y.npy` [, `x_test.npy`, `y_test.npy`] |
/// | `FILE.npy[?target=COL&task=T]` | a 2-D table `[N, D + 1]`, target the last column or COL (0-based, negative from the end) |
/// | `FILE.csv[?target=COL&header=auto\|yes\|no&task=T]` | a CSV table, target the last column or COL (name or index) |
/// | `synthetic:line\|spirals\|blobs[?…]` | generated data (see ``SyntheticDataset``) |
///
/// `T` is `auto` (classes when every target is a non-negative integer, else regression),
/// `classification` or `regression`. A lone `.npy` holds one array, so it must carry its targets as a
/// column; inputs and targets kept apart belong in an `.npz` (`np.savez(FILE, x=X, y=Y)`). A form
/// registered outside Nabla yields a ``custom(_:)`` source that loads itself.
public enum DatasetSource: Equatable, Sendable {
    /// `fashion-mnist` or `mnist:DIR[?classes=N]`: the IDX files in `directory` (see ``MNIST``), `name` prefixing the splits' names.
    case mnist(directory: String, classCount: Int, name: String)
    /// `cifar10:DIR`, `cifar100:DIR`: the binary batches in `directory` (see ``CIFAR``).
    case cifar(CIFAR.Variant, directory: String)
    /// `images:DIR`: PNG images in class folders under `directory` (see ``ImageFolder``).
    case imageFolder(directory: String)
    /// `FILE.safetensors`: tensors `x`, `y` and optionally `x_test`, `y_test`.
    case safetensors(path: String)
    /// `FILE.npz`: arrays `x.npy`, `y.npy` and optionally `x_test.npy`, `y_test.npy`.
    case npz(path: String)
    /// `FILE.npy`: a 2-D table `[N, D + 1]` whose target column `options` selects.
    case npy(path: String, options: TabularOptions)
    /// `FILE.csv`: a numeric table whose target column, header and task `options` select.
    case csv(path: String, options: TabularOptions)
    /// `synthetic:NAME[?…]`: generated data (see ``SyntheticDataset``).
    case synthetic(SyntheticDataset)
    /// A dataset of a registered form that loads itself.
    case custom(CustomDataset)

    /// The accepted forms, for messages and `--help` (every registered form's grammar).
    public static var acceptedForms: String { DatasetRegistry.acceptedForms }

    /// Parses a `--data` spec through the ``DatasetRegistry``. `target` (the CLI's `--target COL`)
    /// selects the target column of `.csv` and `.npy` tables and is an error for any other form.
    /// - Throws: ``/NablaTensor/NablaError`` naming the spec: an unknown form (listing the known ones), a bad or
    ///   unknown parameter, or a `--target` the form does not take.
    public static func parse(_ spec: String, target: String? = nil) throws -> DatasetSource {
        guard let (form, body, query) = DatasetRegistry.match(spec) else {
            throw NablaError(.invalidArgument, "--data '\(spec)': unknown dataset; expected one of \(acceptedForms)")
        }
        var parsed = DatasetSpec(spec: spec, body: body, parameters: try SpecParameters(query, spec: spec),
                                 target: form.acceptsTarget ? target : nil)
        let source = try form.parse(&parsed)
        try parsed.parameters.finish()
        if let target, !form.acceptsTarget {
            let tables = DatasetRegistry.forms.filter(\.acceptsTarget).map(\.pattern.description).sorted()
            throw NablaError(.invalidArgument, "--target \(target): only \(tables.joined(separator: " and ")) datasets have a target column")
        }
        return source
    }

    /// Loads the training split and, when the source has one, the test split. `seed` drives the
    /// synthetic generators; file-based sources ignore it.
    public func load(seed: UInt64 = 0) throws -> (train: Dataset, test: Dataset?) {
        switch self {
        case let .mnist(directory, classCount, name):
            if name == "fashion-mnist" && !FileManager.default.fileExists(atPath: directory) {
                throw NablaError(.io, "\(directory): no such directory (install Debian's dataset-fashion-mnist: "
                                 + "sudo apt-get install dataset-fashion-mnist)")
            }
            var (train, test) = try MNIST.load(directory: URL(fileURLWithPath: directory), classCount: classCount, name: name)
            if name == "fashion-mnist" && classCount == MNIST.fashionMNISTClassNames.count {
                train.classNames = MNIST.fashionMNISTClassNames
                test?.classNames = MNIST.fashionMNISTClassNames
            }
            return (train, test)
        case let .cifar(variant, directory):
            let (train, test) = try CIFAR.load(variant, directory: URL(fileURLWithPath: directory))
            return (train, test)
        case .imageFolder(let directory):
            let url = URL(fileURLWithPath: directory)
            return try ImageFolder.load(directory: url, name: url.standardizedFileURL.lastPathComponent)
        case .safetensors(let path):
            return try ArrayFileDatasets.loadSafeTensors(URL(fileURLWithPath: path), name: Self.stem(path))
        case .npz(let path):
            return try ArrayFileDatasets.loadNPZ(URL(fileURLWithPath: path), name: Self.stem(path))
        case let .npy(path, options):
            return (try TabularDataset.loadNPY(URL(fileURLWithPath: path), options: options, name: Self.stem(path)), nil)
        case let .csv(path, options):
            return (try TabularDataset.loadCSV(URL(fileURLWithPath: path), options: options, name: Self.stem(path)), nil)
        case .synthetic(let generator):
            return generator.generate(seed: seed)
        case .custom(let dataset):
            return try dataset.load(seed: seed)
        }
    }

    /// The file name without directory and extension, as a dataset name.
    private static func stem(_ path: String) -> String {
        URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
    }
}

/// A dataset of a form registered outside Nabla (``DatasetRegistry``): the spec it was parsed from
/// and how to load it. Two are equal when their specs are.
public struct CustomDataset: Equatable, Sendable, CustomStringConvertible {
    /// The `--data` spec.
    public let spec: String
    private let loader: @Sendable (_ seed: UInt64) throws -> (train: Dataset, test: Dataset?)

    /// A dataset that `load` produces for a seed (which generated data should honour).
    public init(spec: String, load: @escaping @Sendable (_ seed: UInt64) throws -> (train: Dataset, test: Dataset?)) {
        self.spec = spec
        loader = load
    }

    /// The training split and, when there is one, the test split.
    public func load(seed: UInt64) throws -> (train: Dataset, test: Dataset?) { try loader(seed) }

    /// The spec.
    public var description: String { spec }

    /// Whether both come from the same spec.
    public static func == (lhs: CustomDataset, rhs: CustomDataset) -> Bool { lhs.spec == rhs.spec }
}
