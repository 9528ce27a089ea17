import Foundation
import NablaTensor
import NablaIO

/// PNG images in class folders — torchvision's `ImageFolder` layout, `--data images:DIR`:
///
///     DIR/CLASS/NAME.png                       one split; classes are the folder names, sorted
///     DIR/train/CLASS/NAME.png                 a training split …
///     DIR/test/CLASS/NAME.png  (or DIR/val/)   … and a test split, labelled by the training classes
///
/// Within a class folder the files are taken in sorted order, `*.png` in any case (other files and
/// hidden files are skipped, as torchvision skips files without an image extension); a class folder
/// without a PNG image is an error, as it is for torchvision. The classes are numbered in sorted
/// order (torchvision's `class_to_idx`) and kept as ``Dataset/classNames``.
///
/// Images decode with libpng (``PNGImage``) to `[C, H, W]` floats in `[0, 1]` (torchvision's
/// `ToTensor`). Every image must have the same size (resize them beforehand). They are gray
/// (`C = 1`) when every image of the dataset is gray, else RGB (`C = 3`, gray images replicated) —
/// where torchvision's default loader always converts to RGB.
public enum ImageFolder {
    /// Loads `directory`: its `train`/`test` (or `val`) splits when it has a `train` folder of class
    /// folders, else its class folders as one training split. `name` prefixes the datasets' names.
    /// - Throws: ``NablaError`` for a missing directory, a class without images, a file that is not
    ///   a valid PNG image, or images of different sizes — naming the file.
    public static func load(directory: URL, name: String) throws -> (train: Dataset, test: Dataset?) {
        guard isDirectory(directory) else {
            throw NablaError(.io, "\(directory.path): no such directory (expected class folders of PNG images there)")
        }
        let trainFolder = directory.appendingPathComponent("train")
        let split = isDirectory(trainFolder) ? !(try subdirectories(of: trainFolder)).isEmpty : false
        let trainRoot = split ? trainFolder : directory
        let classes = try subdirectories(of: trainRoot)
        guard !classes.isEmpty else {
            throw NablaError(.invalidFile, "\(trainRoot.path): has no class folders (expected DIR/CLASS/NAME.png)")
        }
        let trainFiles = try labelledFiles(in: trainRoot, classes: classes)
        var testFiles: [(URL, Int)]?
        var testRoot: URL?
        if split, let root = ["test", "val"].map({ directory.appendingPathComponent($0) }).first(where: isDirectory) {
            let testClasses = try subdirectories(of: root)
            if let unknown = testClasses.first(where: { !classes.contains($0) }) {
                throw NablaError(.invalidFile, "\(root.path)/\(unknown): a class the training split (\(trainRoot.path)) does not have")
            }
            testFiles = try labelledFiles(in: root, classes: classes, only: testClasses)
            testRoot = root
        }
        let color = try (trainFiles + (testFiles ?? [])).contains { try header(of: $0.0).isColor }
        let train = try dataset(trainFiles, classes: classes, color: color, name: "\(name)/train")
        guard let testFiles, let testRoot else { return (train, nil) }
        let test = try dataset(testFiles, classes: classes, color: color, name: "\(name)/test")
        guard test.sampleShape == train.sampleShape else {
            throw NablaError(.invalidFile, "\(testRoot.path): test images are \(test.sampleShape), training images \(train.sampleShape)")
        }
        return (train, test)
    }

    /// The PNG files of `directory` for prediction: its own `*.png` files, else those of its class
    /// folders (or its `train`/`test` splits' class folders), in sorted order.
    /// - Throws: ``NablaError`` when there are none.
    public static func imageFiles(in directory: URL) throws -> [URL] {
        guard isDirectory(directory) else { throw NablaError(.io, "\(directory.path): no such directory") }
        let own = try pngFiles(in: directory)
        if !own.isEmpty { return own }
        var files: [URL] = []
        for folder in try subdirectories(of: directory) {
            let url = directory.appendingPathComponent(folder)
            files += try pngFiles(in: url)
            for inner in try subdirectories(of: url) { files += try pngFiles(in: url.appendingPathComponent(inner)) }
        }
        guard !files.isEmpty else { throw NablaError(.invalidFile, "\(directory.path): no PNG images here or in its sub-folders") }
        return files
    }

    /// Decodes `files` into one tensor `[N, C, H, W]` in `[0, 1]`: gray unless an image has color
    /// (or `color` says so). Decoding is spread over Nabla's threads.
    /// - Throws: ``NablaError`` for an invalid file or images of different sizes, naming the file.
    public static func images(_ files: [URL], color: Bool? = nil) throws -> Tensor<Float> {
        precondition(!files.isEmpty, "ImageFolder.images: no files")
        let isColor = try color ?? files.contains { try header(of: $0).isColor }
        let first = try header(of: files[0])
        let channels = isColor ? 3 : 1
        let sample = channels * first.height * first.width
        var inputs = Tensor<Float>(zeros: [files.count, channels, first.height, first.width])
        var failures = [NablaError?](repeating: nil, count: files.count)
        inputs.withUnsafeMutableBufferPointer { out in
            failures.withUnsafeMutableBufferPointer { failed in
                // Each part writes its own samples and failure slots: no two parts share memory.
                nonisolated(unsafe) let (out, failed) = (out, failed)
                Parallelism.forEachRange(of: files.count, parts: Parallelism.threadCount) { range, _ in
                    for i in range {
                        do {
                            let image = try PNGImage.decode(try FileBytes.read(files[i]), name: files[i].path, color: isColor)
                            guard image.width == first.width && image.height == first.height else {
                                throw NablaError(.invalidFile, "\(files[i].path): a \(image.width)×\(image.height) image, but "
                                                 + "\(files[0].path) is \(first.width)×\(first.height) (every image must have the same size)")
                            }
                            image.writeFloats(into: UnsafeMutableBufferPointer(rebasing: out[(i * sample)..<((i + 1) * sample)]))
                        } catch let error as NablaError {
                            failed[i] = error
                        } catch {
                            failed[i] = NablaError(.io, "\(files[i].path): \(error)")
                        }
                    }
                }
            }
        }
        if let failure = failures.lazy.compactMap({ $0 }).first { throw failure }
        return inputs
    }

    // MARK: Folders and files

    static func dataset(_ files: [(URL, Int)], classes: [String], color: Bool, name: String) throws -> Dataset {
        let inputs = try images(files.map(\.0), color: color)
        return Dataset(name: name, inputs: inputs, targets: .classes(files.map(\.1), classCount: classes.count), classNames: classes)
    }

    /// The PNG files of each class folder of `root` (those in `only`, else all of `classes`) with
    /// the class's index in `classes`.
    static func labelledFiles(in root: URL, classes: [String], only: [String]? = nil) throws -> [(URL, Int)] {
        var files: [(URL, Int)] = []
        for (label, name) in classes.enumerated() where only?.contains(name) ?? true {
            let folder = root.appendingPathComponent(name)
            let images = try pngFiles(in: folder)
            guard !images.isEmpty else {
                throw NablaError(.invalidFile, "\(folder.path): class '\(name)' has no PNG images (expected \(folder.path)/NAME.png)")
            }
            files += images.map { ($0, label) }
        }
        return files
    }

    static func header(of url: URL) throws -> PNGImage.Header {
        try PNGImage.header(of: try FileBytes.read(url), name: url.path)
    }

    static func isDirectory(_ url: URL) -> Bool {
        var directory: ObjCBool = false
        return FileManager.default.fileExists(atPath: url.path, isDirectory: &directory) && directory.boolValue
    }

    /// The names of the visible sub-folders of `url`, sorted.
    static func subdirectories(of url: URL) throws -> [String] {
        try contents(of: url).filter { isDirectory(url.appendingPathComponent($0)) }
    }

    /// The visible `*.png` regular files of `url` (any case), sorted by name.
    static func pngFiles(in url: URL) throws -> [URL] {
        try contents(of: url).filter { $0.lowercased().hasSuffix(".png") }
            .map { url.appendingPathComponent($0) }.filter { !isDirectory($0) }
    }

    /// The visible entries of `url`, sorted (byte order, as Python's `sorted` orders names).
    static func contents(of url: URL) throws -> [String] {
        let names: [String]
        do { names = try FileManager.default.contentsOfDirectory(atPath: url.path) } catch {
            throw NablaError(.io, "\(url.path): cannot list the directory")
        }
        return names.filter { !$0.hasPrefix(".") }.sorted { Array($0.utf8).lexicographicallyPrecedes(Array($1.utf8)) }
    }
}
