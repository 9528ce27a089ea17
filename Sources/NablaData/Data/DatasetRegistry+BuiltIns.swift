import Foundation
import NablaTensor

extension DatasetRegistry {
    /// The forms Nabla ships, in the order help lists them.
    static var builtIns: [DatasetForm] {
        [
            DatasetForm(.name("fashion-mnist"), grammar: "fashion-mnist",
                        summary: "Fashion-MNIST from \(MNIST.fashionMNISTDirectory) (Debian's dataset-fashion-mnist)") { _ in
                .mnist(directory: MNIST.fashionMNISTDirectory, classCount: 10, name: "fashion-mnist")
            },
            DatasetForm(.scheme("mnist"), grammar: "mnist:DIR[?classes=N]",
                        summary: "MNIST-family IDX files (gzip or raw) in DIR, N classes (10)") { spec in
                let classes = try spec.parameters.int("classes", default: 10, in: 1...256)
                try spec.parameters.finish()
                return .mnist(directory: try directory(spec, "mnist"), classCount: classes, name: "mnist")
            },
            DatasetForm(.scheme("cifar10"), grammar: "cifar10:DIR", summary: "CIFAR-10 binary batches in DIR") { spec in
                try spec.parameters.finish()
                return .cifar(.cifar10, directory: try directory(spec, "cifar10"))
            },
            DatasetForm(.scheme("cifar100"), grammar: "cifar100:DIR", summary: "CIFAR-100 binary batches in DIR") { spec in
                try spec.parameters.finish()
                return .cifar(.cifar100, directory: try directory(spec, "cifar100"))
            },
            DatasetForm(.scheme("images"), grammar: "images:DIR",
                        summary: "PNG images in class folders DIR/CLASS/*.png, or DIR/train/CLASS/*.png and DIR/test/CLASS/*.png (torchvision's ImageFolder layout)") { spec in
                try spec.parameters.finish()
                return .imageFolder(directory: try directory(spec, "images"))
            },
            DatasetForm(.fileExtension("safetensors"), grammar: "FILE.safetensors",
                        summary: "tensors x, y [, x_test, y_test]") { spec in .safetensors(path: spec.body) },
            DatasetForm(.fileExtension("npz"), grammar: "FILE.npz",
                        summary: "arrays x.npy, y.npy [, x_test.npy, y_test.npy] (np.savez(FILE, x=X, y=Y))") { spec in
                .npz(path: spec.body)
            },
            DatasetForm(.fileExtension("npy"), grammar: "FILE.npy[?target=COL&task=T]",
                        summary: "a 2-D table [N, D + 1], the target the last column or COL (negative from the end)", acceptsTarget: true) { spec in
                .npy(path: spec.body, options: try tabularOptions(&spec, header: false))
            },
            DatasetForm(.fileExtension("csv"), grammar: "FILE.csv[?target=COL&header=auto|yes|no&task=T]",
                        summary: "a CSV table, the target the last column or COL (name or index); T is auto, classification or regression",
                        acceptsTarget: true) { spec in
                .csv(path: spec.body, options: try tabularOptions(&spec, header: true))
            },
            DatasetForm(.scheme("synthetic"), grammar: "synthetic:line|spirals|blobs[?key=value&...]",
                        summary: "generated data: the noisy line, spirals, Gaussian blobs (see the README)") { spec in
                .synthetic(try SyntheticDataset.parse(name: spec.body, parameters: &spec.parameters, spec: spec.spec))
            },
        ]
    }

    /// The directory of a `SCHEME:DIR` form.
    private static func directory(_ spec: DatasetSpec, _ form: String) throws -> String {
        guard !spec.body.isEmpty else { throw NablaError(.invalidArgument, "--data \(spec.spec): \(form) needs a directory: \(form):DIR") }
        return spec.body
    }

    /// The options of a `.csv` or `.npy` table: `target`, `header` (CSV), `task`, and `--target`,
    /// which must agree with `target=` when both are given.
    private static func tabularOptions(_ spec: inout DatasetSpec, header: Bool) throws -> TabularOptions {
        var options = TabularOptions(target: spec.parameters.string("target"))
        if header { options.header = try spec.parameters.choice("header", default: .automatic, [.automatic, .present, .absent]) }
        options.task = try spec.parameters.choice("task", default: .automatic, [.automatic, .classification, .regression])
        try spec.parameters.finish()
        if let target = spec.target {
            guard options.target == nil || options.target == target else {
                throw NablaError(.invalidArgument, "--target \(target) conflicts with target=\(options.target!) in --data \(spec.spec)")
            }
            options.target = target
        }
        return options
    }
}
