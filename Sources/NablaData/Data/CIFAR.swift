import Foundation
import NablaTensor
import NablaIO

/// Loader of the CIFAR-10 and CIFAR-100 binary versions (Krizhevsky, "Learning Multiple Layers of
/// Features from Tiny Images", 2009; https://www.cs.toronto.edu/~kriz/cifar.html).
///
/// Each file is a sequence of fixed-size records: the label byte(s), then 3072 pixel bytes — the
/// 1024 red, 1024 green, 1024 blue values of a 32×32 image, rows first — which is already the NCHW
/// layout. CIFAR-10 (`data_batch_1.bin` … `data_batch_5.bin`, `test_batch.bin`): 1 label byte in
/// `0..<10`, 3073-byte records. CIFAR-100 (`train.bin`, `test.bin`): a coarse label (`0..<20`) and a
/// fine label (`0..<100`), 3074-byte records; Nabla trains on the fine label.
///
/// Images become `Float` tensors `[N, 3, 32, 32]` scaled to `[0, 1]`. The directory may also be the
/// one containing the archives' `cifar-10-batches-bin` / `cifar-100-binary` folder. File sizes are
/// checked (a whole, non-zero number of records) before anything is allocated.
public enum CIFAR {
    /// The two variants of the dataset.
    public enum Variant: String, Sendable {
        /// CIFAR-10: 10 classes, 1 label byte per record.
        case cifar10
        /// CIFAR-100: 100 fine classes (20 coarse ones ignored), 2 label bytes per record.
        case cifar100

        var labelBytes: Int { self == .cifar10 ? 1 : 2 }
        var recordSize: Int { labelBytes + CIFAR.imageBytes }
        var classCount: Int { self == .cifar10 ? 10 : 100 }
        var trainFiles: [String] { self == .cifar10 ? (1...5).map { "data_batch_\($0).bin" } : ["train.bin"] }
        var testFiles: [String] { self == .cifar10 ? ["test_batch.bin"] : ["test.bin"] }
        var archiveFolder: String { self == .cifar10 ? "cifar-10-batches-bin" : "cifar-100-binary" }
        /// The archive's file of class names, one per line in label order.
        var namesFile: String { self == .cifar10 ? "batches.meta.txt" : "fine_label_names.txt" }
    }

    /// CIFAR-10's class names in label order (Krizhevsky 2009; the archive's `batches.meta.txt`).
    public static let cifar10ClassNames = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]

    static let imageBytes = 3 * 32 * 32

    /// Loads the training and test splits from `directory`.
    public static func load(_ variant: Variant, directory: URL) throws -> (train: Dataset, test: Dataset) {
        let folder = try resolve(variant, directory: directory)
        let train = try loadFiles(variant.trainFiles.map { folder.appendingPathComponent($0) }, variant: variant, name: "\(variant.rawValue)/train")
        var test = try loadFiles(variant.testFiles.map { folder.appendingPathComponent($0) }, variant: variant, name: "\(variant.rawValue)/test")
        var named = train
        named.classNames = classNames(variant, folder: folder)
        test.classNames = named.classNames
        return (named, test)
    }

    /// The class names in the archive's names file (`batches.meta.txt`, `fine_label_names.txt`) when
    /// it is there and lists one name per class, else CIFAR-10's published names, else `nil`.
    static func classNames(_ variant: Variant, folder: URL) -> [String]? {
        if let text = try? String(contentsOf: folder.appendingPathComponent(variant.namesFile), encoding: .utf8) {
            let names = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            if names.count == variant.classCount && Set(names).count == names.count { return names }
        }
        return variant == .cifar10 ? cifar10ClassNames : nil
    }

    /// The folder holding the batch files: `directory` itself or its archive sub-folder.
    static func resolve(_ variant: Variant, directory: URL) throws -> URL {
        let marker = variant.trainFiles[0]
        for folder in [directory, directory.appendingPathComponent(variant.archiveFolder)]
        where FileManager.default.fileExists(atPath: folder.appendingPathComponent(marker).path) {
            return folder
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: directory.path, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw NablaError(.io, "\(directory.path): no such directory (expected the \(variant.rawValue) binary batches there)")
        }
        throw NablaError(.io, "\(directory.path): no \(marker) here or in \(variant.archiveFolder)/ "
                         + "(\(variant.rawValue):DIR expects \((variant.trainFiles + variant.testFiles).joined(separator: ", ")))")
    }

    /// Concatenates the records of `files` into one dataset.
    public static func loadFiles(_ files: [URL], variant: Variant, name: String) throws -> Dataset {
        let recordSize = variant.recordSize
        var counts: [Int] = []
        for file in files {
            let size = try FileBytes.size(of: file)
            guard size > 0 else { throw NablaError(.invalidFile, "\(file.path): not a valid \(variant.rawValue) batch: the file is empty") }
            guard size % recordSize == 0 else {
                throw NablaError(.invalidFile, "\(file.path): not a valid \(variant.rawValue) batch: \(size) bytes is not a whole number "
                                 + "of \(recordSize)-byte records (truncated or wrong variant)")
            }
            counts.append(size / recordSize)
        }
        let total = counts.reduce(0, +)
        var labels = [Int]()
        labels.reserveCapacity(total)
        var inputs = Tensor<Float>(zeros: [total, 3, 32, 32])
        var start = 0
        for (file, count) in zip(files, counts) {
            let bytes = try FileBytes.read(file)
            guard bytes.count == count * recordSize else {
                throw NablaError(.io, "\(file.path): changed size while being read")
            }
            try bytes.withUnsafeBufferPointer { source in
                try inputs.withUnsafeMutableBufferPointer { out in
                    for record in 0..<count {
                        let base = record * recordSize
                        let label = Int(source[base + variant.labelBytes - 1])
                        if variant == .cifar100, source[base] >= 20 {
                            throw NablaError(.invalidFile, "\(file.path): coarse label \(source[base]) of record \(record) is out of range 0..<20")
                        }
                        guard label < variant.classCount else {
                            throw NablaError(.invalidFile, "\(file.path): label \(label) of record \(record) is out of range 0..<\(variant.classCount)")
                        }
                        labels.append(label)
                        let pixels = UnsafeBufferPointer(rebasing: source[(base + variant.labelBytes)..<(base + recordSize)])
                        let target = UnsafeMutableBufferPointer(rebasing: out[((start + record) * imageBytes)..<((start + record + 1) * imageBytes)])
                        MNIST.convertPixels(pixels, into: target)
                    }
                }
            }
            start += count
        }
        return Dataset(name: name, inputs: inputs, targets: .classes(labels, classCount: variant.classCount))
    }
}
