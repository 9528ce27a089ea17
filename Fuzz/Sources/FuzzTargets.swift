import Foundation
@testable import NablaTensor
@testable import NablaIO
@testable import NablaNN
@testable import NablaData
@testable import NablaTraining

/// The parsers of user input that the fuzzer drives, one per target name (`NABLA_FUZZ_TARGET`).
///
/// Each target feeds the raw fuzz input to the real entry point the CLI uses, then exercises what
/// the CLI does next with a successfully parsed value (element conversion, dataset assembly, model
/// building, state-dict loading). A target may only ever *throw* ``NablaError`` (or succeed); a trap,
/// an ASan report, a leak, an allocation beyond `-malloc_limit_mb` or a timeout is a finding.
/// `Tests/NablaTrainingTests/FuzzRegressionTests.swift` replays the saved crashing inputs through the same
/// entry points under XCTest.
enum FuzzTargets {
    static let all: [String: ([UInt8]) throws -> Void] = [
        "idx": idx, "gzip": gzip, "cifar": cifar, "npy": npy, "npz": npz,
        "safetensors": safetensors, "csv": csv, "model": model, "checkpoint": checkpoint, "png": png,
    ]

    /// IDX (raw or gzip) as an image file and as a label file, then MNIST's pixel conversion.
    static func idx(_ data: [UInt8]) throws {
        for rank in [1, 3] {
            guard let file = try? IDXFile.parse(data, name: "fuzz.idx", expectedRank: rank) else { continue }
            if rank == 3 && file.dimensions.allSatisfy({ $0 > 0 }) {
                _ = MNIST.pixelTensor(file.bytes, shape: [file.dimensions[0], 1, file.dimensions[1], file.dimensions[2]])
            }
        }
    }

    /// gzip or raw DEFLATE (first byte's low bit), reading the count the next 4 bytes declare after
    /// checking it against the bound, as the IDX and zip readers do.
    static func gzip(_ data: [UInt8]) throws {
        guard data.count >= 5 else { return }
        let format: Inflater.Format = data[0] & 1 == 0 ? .gzip : .rawDeflate
        let declared = Int(data.littleEndianUInt32(at: 1))
        let inflater = try Inflater(Array(data[5...]), format: format, name: "fuzz.gz")
        guard declared <= inflater.maximumOutputCount else { return }
        _ = try inflater.read(count: declared, what: "the declared bytes")
        try inflater.finish()
    }

    /// CIFAR-10 and CIFAR-100 record files (the loader reads files, so the input goes to a temporary one).
    static func cifar(_ data: [UInt8]) throws {
        let url = scratch.appendingPathComponent("data_batch_1.bin")
        try Data(data).write(to: url)
        for variant in [CIFAR.Variant.cifar10, .cifar100] {
            _ = try? CIFAR.loadFiles([url], variant: variant, name: "fuzz")
        }
    }

    /// A `.npy` array, its conversions, and the tabular dataset a 2-D array becomes.
    static func npy(_ data: [UInt8]) throws {
        let array = try NumPyArray.parse(data, name: "fuzz.npy")
        let values = array.integers()?.map(Double.init) ?? array.floats().map(Double.init)
        if array.shape.count == 2, array.shape[0] > 0, array.shape[1] >= 2, values.allSatisfy(\.isFinite) {
            _ = try TabularDataset.make(values: values, columnCount: array.shape[1], columnNames: nil, options: .init(),
                                        file: "fuzz.npy", name: "fuzz", row: { "row \($0)" })
        }
    }

    /// A `.npz` archive as a dataset, and every entry's contents.
    static func npz(_ data: [UInt8]) throws {
        _ = try? ArrayFileDatasets.parseNPZ(data, file: "fuzz.npz", name: "fuzz")
        let archive = try ZipArchive(data, name: "fuzz.npz")
        for entry in archive.entries.prefix(8) { _ = try? archive.contents(of: entry) }
    }

    /// A `.safetensors` file: every tensor converted, and a serialize/parse round trip.
    static func safetensors(_ data: [UInt8]) throws {
        let file = try SafeTensorsFile.parse(data, name: "fuzz.safetensors")
        for tensor in file.tensors.values {
            _ = tensor.tensor(as: Float.self)
            _ = tensor.intValues
        }
        let again = try SafeTensorsFile.parse(file.serialized(), name: "round-trip")
        precondition(again == file, "safetensors round trip changed the file")
    }

    /// A CSV table under each header mode, numeric and with text columns, then the tabular dataset.
    static func csv(_ data: [UInt8]) throws {
        for mode in [CSVTable.HeaderMode.automatic, .present, .absent] {
            for allowingText in [false, true] {
                guard let table = try? CSVTable.parse(data, name: "fuzz.csv", header: mode, allowingText: allowingText) else { continue }
                for column in table.textColumns.keys { _ = table.notANumberError(column: column, name: "fuzz.csv") }
                _ = try? TabularDataset.make(values: table.values, columnCount: table.columnCount, columnNames: table.columnNames,
                                             options: .init(target: table.columnNames?.first), file: "fuzz.csv", name: "fuzz",
                                             row: { "line \(table.lineNumbers[$0])" })
            }
        }
    }

    /// A PNG image through libpng: its header, gray and color decoding, the float conversion, and
    /// an encode/decode round trip.
    static func png(_ data: [UInt8]) throws {
        _ = try PNGImage.header(of: data, name: "fuzz.png")
        for color in [false, true] {
            let image = try PNGImage.decode(data, name: "fuzz.png", color: color)
            var floats = [Float](repeating: 0, count: image.pixels.count)
            floats.withUnsafeMutableBufferPointer { image.writeFloats(into: $0) }
            if image.pixels.count <= 1 << 16 {
                let again = try PNGImage.decode(try image.encoded(), name: "round-trip", color: color)
                precondition(again == image, "PNG round trip changed the image")
            }
        }
    }

    /// A YAML (or, when it starts with `{`, JSON) model file, built for its declared input shape or
    /// for `[1, 8, 8]` samples.
    static func model(_ data: [UInt8]) throws {
        // A 4M-element cap keeps every build fast; the default 10⁸ is tested by HostileInputTests.
        ModelLimits.maximumElementCount = 1 << 22
        let text = String(decoding: data, as: UTF8.self)
        let description = try ModelDescription.parse(text, name: "fuzz.yaml", isJSON: data.first == UInt8(ascii: "{"))
        var generator = RandomGenerator(seed: 0)
        for shape in [description.inputShape ?? [1, 8, 8], [6]] {
            _ = try? description.build(inputShape: shape, using: &generator)
        }
    }

    /// A checkpoint, loaded into a small model whose keys it may or may not match.
    static func checkpoint(_ data: [UInt8]) throws {
        let checkpoint = try Checkpoint.parse(data, name: "fuzz.checkpoint")
        let model = Sequential<Float>([Linear(4, 3), BatchNorm1d(3), Dropout(0.5), Linear(3, 2)])
        try? model.loadStateDict(checkpoint.model)
        try? model.restoreRandomGenerators(checkpoint.generators.mapValues { RandomGenerator(words: $0) })
    }

    /// A per-process scratch directory (in memory when `/dev/shm` exists).
    static let scratch: URL = {
        let base = FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
        let url = URL(fileURLWithPath: base).appendingPathComponent("nabla-fuzz-\(getpid())")
        try? FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }()
}
