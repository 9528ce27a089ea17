import Foundation
import NablaTensor

/// A dataset named by `nabla train --data SPEC`, parsed without touching the disk and loaded with
/// ``load(seed:)``.
///
/// Grammar (`[?key=value&…]` parameters where listed; an unknown key is an error):
///
/// | spec | dataset |
/// |---|---|
/// | `fashion-mnist` | Fashion-MNIST from `/usr/share/datasets/fashion-mnist` (Debian `dataset-fashion-mnist`) |
/// | `mnist:DIR[?classes=N]` | MNIST-family IDX files in DIR (see ``MNIST``), N classes (10) |
/// | `cifar10:DIR`, `cifar100:DIR` | CIFAR binary batches (see ``CIFAR``) |
/// | `FILE.safetensors` | tensors `x`, `y` [, `x_test`, `y_test`] (see ``ArrayDataset``) |
/// | `FILE.npz` | arrays `x.npy`, `y.npy` [, `x_test.npy`, `y_test.npy`] |
/// | `FILE.npy[?target=COL&task=T]` | a 2-D table `[N, D + 1]`, target the last column or COL (0-based, negative from the end) |
/// | `FILE.csv[?target=COL&header=auto\|yes\|no&task=T]` | a CSV table, target the last column or COL (name or index) |
/// | `synthetic:line\|spirals\|blobs[?…]` | generated data (see ``SyntheticDataset``) |
///
/// `T` is `auto` (classes when every target is a non-negative integer, else regression),
/// `classification` or `regression`. A lone `.npy` holds one array, so it must carry its targets as a
/// column; inputs and targets kept apart belong in an `.npz` (`np.savez(FILE, x=X, y=Y)`).
public enum DatasetSource: Equatable, Sendable {
    case mnist(directory: String, classCount: Int, name: String)
    case cifar(CIFAR.Variant, directory: String)
    case safetensors(path: String)
    case npz(path: String)
    case npy(path: String, options: TabularOptions)
    case csv(path: String, options: TabularOptions)
    case synthetic(SyntheticDataset)

    /// The accepted forms, for messages and `--help`.
    public static let acceptedForms = "fashion-mnist, mnist:DIR, cifar10:DIR, cifar100:DIR, FILE.safetensors, FILE.npz, "
        + "FILE.npy, FILE.csv, synthetic:line|spirals|blobs[?key=value&...]"

    /// Parses a `--data` spec. `target` (the CLI's `--target COL`) selects the target column of
    /// `.csv` and `.npy` tables and is an error for any other form.
    public static func parse(_ spec: String, target: String? = nil) throws -> DatasetSource {
        func prefixed(_ prefix: String) -> (String, String)? {
            guard spec.hasPrefix(prefix) else { return nil }
            let rest = spec.dropFirst(prefix.count)
            guard let mark = rest.lastIndex(of: "?") else { return (String(rest), "") }
            return (String(rest[..<mark]), String(rest[rest.index(after: mark)...]))
        }
        func directory(_ form: String, _ path: String) throws -> String {
            guard !path.isEmpty else { throw NablaError(.invalidArgument, "--data \(spec): \(form) needs a directory: \(form):DIR") }
            return path
        }
        var source: DatasetSource
        var tabular: TabularOptions?
        if spec == "fashion-mnist" {
            source = .mnist(directory: MNIST.fashionMNISTDirectory, classCount: 10, name: "fashion-mnist")
        } else if case let (path, query)? = prefixed("mnist:") {
            var parameters = try SpecParameters(query, spec: spec)
            let classes = try parameters.int("classes", default: 10, in: 1...256)
            try parameters.finish()
            source = .mnist(directory: try directory("mnist", path), classCount: classes, name: "mnist")
        } else if case let (path, query)? = prefixed("cifar10:") ?? prefixed("cifar100:") {
            let variant: CIFAR.Variant = spec.hasPrefix("cifar10:") ? .cifar10 : .cifar100
            try SpecParameters(query, spec: spec).finish()
            source = .cifar(variant, directory: try directory(variant.rawValue, path))
        } else if case let (name, query)? = prefixed("synthetic:") {
            var parameters = try SpecParameters(query, spec: spec)
            source = .synthetic(try SyntheticDataset.parse(name: name, parameters: &parameters, spec: spec))
        } else if case let (path, query, fileExtension)? = splitFile(spec) {
            var parameters = try SpecParameters(query, spec: spec)
            switch fileExtension {
            case "safetensors": source = .safetensors(path: path)
            case "npz": source = .npz(path: path)
            case "npy", "csv":
                var options = TabularOptions(target: parameters.string("target"))
                if fileExtension == "csv" {
                    options.header = try parameters.choice("header", default: .automatic, [.automatic, .present, .absent])
                }
                options.task = try parameters.choice("task", default: .automatic, [.automatic, .classification, .regression])
                tabular = options
                source = fileExtension == "csv" ? .csv(path: path, options: options) : .npy(path: path, options: options)
            default: preconditionFailure("splitFile returned extension \(fileExtension)")
            }
            try parameters.finish()
        } else {
            throw NablaError(.invalidArgument, "--data '\(spec)': unknown dataset; expected one of \(acceptedForms)")
        }
        if let target {
            guard var options = tabular else {
                throw NablaError(.invalidArgument, "--target \(target): only .csv and .npy datasets have a target column")
            }
            guard options.target == nil || options.target == target else {
                throw NablaError(.invalidArgument, "--target \(target) conflicts with target=\(options.target!) in --data \(spec)")
            }
            options.target = target
            if case .csv(let path, _) = source { source = .csv(path: path, options: options) }
            if case .npy(let path, _) = source { source = .npy(path: path, options: options) }
        }
        return source
    }

    /// `PATH[?QUERY]` with a known file extension, or `nil`.
    private static func splitFile(_ spec: String) -> (path: String, query: String, fileExtension: String)? {
        let known = ["safetensors", "npz", "npy", "csv"]
        func fileExtension(_ path: Substring) -> String? {
            guard let dot = path.lastIndex(of: "."), !path[..<dot].hasSuffix("/"), dot != path.startIndex else { return nil }
            let ext = path[path.index(after: dot)...].lowercased()
            return known.contains(ext) ? ext : nil
        }
        if let ext = fileExtension(spec[...]) { return (spec, "", ext) }
        if let mark = spec.lastIndex(of: "?"), let ext = fileExtension(spec[..<mark]) {
            return (String(spec[..<mark]), String(spec[spec.index(after: mark)...]), ext)
        }
        return nil
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
            return try MNIST.load(directory: URL(fileURLWithPath: directory), classCount: classCount, name: name)
        case let .cifar(variant, directory):
            let (train, test) = try CIFAR.load(variant, directory: URL(fileURLWithPath: directory))
            return (train, test)
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
        }
    }

    /// The file name without directory and extension, as a dataset name.
    private static func stem(_ path: String) -> String {
        URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
    }
}
