import Foundation
import XCTest
@testable import NablaTensor
@testable import NablaIO
@testable import NablaNN
@testable import NablaOptim
@testable import NablaData
@testable import NablaTraining
@testable import NablaStudies
import NablaTestSupport

/// The data-file half of ``HostileInputTests``: IDX (MNIST) directories, CIFAR batches, `.npy`,
/// `.npz`, CSV and `.safetensors` datasets — empty, truncated in each section, wrong magic, sizes
/// that would exhaust memory, non-finite values, labels out of range, mismatched counts.
extension HostileInputTests {
    func dataFileCases() throws -> [HostileCase] {
        typealias T = HostileInputTests
        let train = ["train", "--model", "fcnet:4", "--epochs", "1", "--quiet", "--data"]
        var cases: [HostileCase] = []
        func add(_ label: String, _ data: String, _ expected: String, extra: [String] = []) {
            cases.append(HostileCase(label: label, arguments: train + [data] + extra, expected: expected))
        }

        // IDX directories (mnist:DIR): one bad file next to good ones, so the error must name it.
        let images = T.idx([3, 2, 2], Array(repeating: 9, count: 12)), labels = T.idx([3], [0, 1, 2])
        func mnist(_ name: String, images imageBytes: [UInt8] = images, labels labelBytes: [UInt8] = labels,
                   test: [(String, [UInt8])] = []) throws -> String {
            try write("\(name)/train-images-idx3-ubyte", imageBytes)
            try write("\(name)/train-labels-idx1-ubyte", labelBytes)
            for (file, bytes) in test { try write("\(name)/\(file)", bytes) }
            return "mnist:" + path(name)
        }
        add("idx empty image file", try mnist("idx-empty", images: []), "train-images-idx3-ubyte: not a valid IDX file: the file is empty")
        add("idx truncated magic", try mnist("idx-magic3", images: [0, 0, 8]), "truncated inside the 4-byte magic number")
        add("idx wrong magic", try mnist("idx-badmagic", images: [0x1F, 0x8C] + images.dropFirst(2)), "wrong magic 0x1F8C0803, expected 0x00000803")
        add("idx labels given images' magic", try mnist("idx-rank", labels: images), "declares rank 3, expected 0x00000801 (a label file)")
        add("idx truncated dimensions", try mnist("idx-dims", images: Array(images.prefix(9))), "truncated inside the 3 dimension sizes")
        add("idx truncated data", try mnist("idx-data", images: Array(images.dropLast(5))), "declare 12 bytes of data but only 7 follow the header")
        add("idx 4-billion-image declaration", try mnist("idx-huge", images: T.idx([0xFFFF_FFFF, 0xFFFF_FFFF, 0xFFFF_FFFF], [1, 2, 3])),
            "dimensions [4294967295, 4294967295, 4294967295] declare")
        add("idx trailing bytes", try mnist("idx-trailing", labels: labels + [7, 7]), "train-labels-idx1-ubyte: not a valid IDX file: 2 bytes follow the data")
        add("idx label out of range", try mnist("idx-label", labels: T.idx([3], [0, 10, 2])), "label 10 at index 1 is out of range 0..<10")
        add("idx image/label count mismatch", try mnist("idx-count", labels: T.idx([2], [0, 1])), "2 labels but")
        add("idx zero images", try mnist("idx-zero", images: T.idx([0, 2, 2], []), labels: T.idx([0], [])), "no images (dimensions [0, 2, 2])")
        add("idx test images without labels", try mnist("idx-half", test: [("t10k-images-idx3-ubyte", images)]),
            "has only one of t10k-images-idx3-ubyte[.gz] and t10k-labels-idx1-ubyte[.gz]")
        let gzipImages = try fixture("data/mnist-tiny/train-images-idx3-ubyte.gz")
        try write("idx-gz-cut/train-labels-idx1-ubyte.gz", try fixture("data/mnist-tiny/train-labels-idx1-ubyte.gz"))
        try write("idx-gz-cut/train-images-idx3-ubyte.gz", Array(gzipImages.prefix(gzipImages.count - 12)))
        add("gzip truncated", "mnist:" + path("idx-gz-cut"), "train-images-idx3-ubyte.gz: truncated")
        var corrupt = gzipImages
        corrupt[corrupt.count - 6] ^= 0xFF   // inside the CRC-32 trailer
        try write("idx-gz-crc/train-labels-idx1-ubyte.gz", try fixture("data/mnist-tiny/train-labels-idx1-ubyte.gz"))
        try write("idx-gz-crc/train-images-idx3-ubyte.gz", corrupt)
        add("gzip bad checksum", "mnist:" + path("idx-gz-crc"), "train-images-idx3-ubyte.gz: corrupt gzip data (incorrect data check)")
        add("mnist missing directory", "mnist:" + path("nowhere"), "nowhere: no such directory")

        // CIFAR batch directories.
        let record = [UInt8](repeating: 100, count: 3072)
        func cifar(_ name: String, train: [UInt8], files: [String] = (1...5).map { "data_batch_\($0).bin" }) throws -> String {
            for file in files { try write("\(name)/\(file)", train) }
            try write("\(name)/test_batch.bin", [3] + record)
            return "cifar10:" + path(name)
        }
        add("cifar truncated record", try cifar("cifar-cut", train: [1] + record.dropLast(1)), "3072 bytes is not a whole number of 3073-byte records")
        add("cifar empty batch", try cifar("cifar-empty", train: []), "data_batch_1.bin: not a valid cifar10 batch: the file is empty")
        add("cifar label out of range", try cifar("cifar-label", train: [1] + record + [12] + record), "label 12 of record 1 is out of range 0..<10")
        add("cifar missing batch", try cifar("cifar-missing", train: [1] + record, files: ["data_batch_1.bin"]), "data_batch_2.bin: no such file")
        try write("cifar100/train.bin", [25, 3] + record)
        try write("cifar100/test.bin", [2, 3] + record)
        cases.append(HostileCase(label: "cifar100 coarse label out of range", arguments: train + ["cifar100:" + path("cifar100")],
                                 expected: "train.bin: coarse label 25 of record 0 is out of range 0..<20"))

        // .npy tables.
        let table = T.floats([1, 2, 0, 3, 4, 1])
        add("npy empty", try write("empty.npy", [UInt8]()), "empty.npy: not a valid .npy file: the file is empty")
        add("npy wrong magic", try write("magic.npy", Array("PK\u{3}\u{4}NUMPY".utf8)), "magic.npy: not a valid .npy file: wrong magic")
        add("npy header beyond file", try write("header.npy", Array(T.npy(descr: "<f4", shape: "(2, 3)", table).prefix(40))),
            "header.npy: not a valid .npy file: header length 118 exceeds the 30 bytes after it")
        add("npy terabyte shape", try write("huge.npy", T.npy(descr: "<f4", shape: "(1000000000000, 1000000000000)", table)),
            "huge.npy: not a valid .npy file: shape [1000000000000, 1000000000000] of <f4 needs more than the 24 data bytes present")
        add("npy truncated data", try write("short.npy", T.npy(descr: "<f4", shape: "(2, 3)", Array(table.dropLast(3)))),
            "short.npy: not a valid .npy file: shape [2, 3] of <f4 needs 24 data bytes, the file has 21")
        add("npy NaN pixel", try write("nan.npy", T.npy(descr: "<f4", shape: "(2, 3)", T.floats([1, .nan, 0, 3, 4, 1]))), "nan.npy: element 1 is nan")
        add("npy complex dtype", try write("complex.npy", T.npy(descr: "<c8", shape: "(3,)", Array(repeating: 0, count: 24))),
            "complex.npy: not a valid .npy file: dtype '<c8' is not supported")
        add("npy fortran order", try write("fortran.npy", T.npy(descr: "<f4", shape: "(2, 3)", table, fortran: true)), "fortran_order arrays are not supported")
        add("npy one column", try write("column.npy", T.npy(descr: "<f4", shape: "(6, 1)", table)), "column.npy: a .npy dataset is a 2-D table")
        add("npy fractional class label", try write("labels.npy", T.npy(descr: "<f4", shape: "(2, 3)", T.floats([1, 2, 0.5, 3, 4, 1]))) + "?task=classification",
            "labels.npy: row 0: target column 2 value 0.5 is not a class label")

        // .npz archives.
        let x = T.npy(descr: "<f4", shape: "(2, 3)", table), y = T.npy(descr: "<i8", shape: "(2,)", T.int64s([0, 1]))
        let good = T.storedZip([("x.npy", x), ("y.npy", y)])
        add("npz empty", try write("empty.npz", [UInt8]()), "empty.npz: not a valid zip archive: the file is empty")
        add("npz cut before its directory", try write("cut.npz", Array(good.prefix(good.count - 30))),
            "cut.npz: not a valid zip archive: no end-of-central-directory record")
        var flipped = good
        flipped[60 + 5 + 40] ^= 0x40   // a byte inside x.npy's data
        add("npz CRC mismatch", try write("crc.npz", flipped), "crc.npz: entry 'x.npy': CRC-32 mismatch")
        add("npz without y", try write("noy.npz", T.storedZip([("x.npy", x)])), "noy.npz: has 'x' but no 'y'")
        add("npz NaN input", try write("nan.npz", T.storedZip([("x.npy", T.npy(descr: "<f4", shape: "(2, 3)", T.floats([0, 0, .infinity, 0, 0, 0]))),
                                                             ("y.npy", y)])), "nan.npz: 'x' element 2 is inf")
        add("npz negative label", try write("neg.npz", T.storedZip([("x.npy", x), ("y.npy", T.npy(descr: "<i8", shape: "(2,)", T.int64s([0, -3])))])),
            "neg.npz: 'y': label -3 at index 1 is out of range 0..<65536")
        add("npz label count mismatch", try write("count.npz", T.storedZip([("x.npy", x), ("y.npy", T.npy(descr: "<i8", shape: "(3,)", T.int64s([0, 1, 1])))])),
            "count.npz: 'y' has 3 samples, its inputs have 2")
        add("npz corrupt entry", try write("entry.npz", T.storedZip([("x.npy", Array(x.prefix(20))), ("y.npy", y)])),
            "entry.npz: x.npy: not a valid .npy file: header length 118 exceeds")

        // CSV tables.
        add("csv empty", try write("empty.csv", ""), "empty.csv: the file has no rows")
        add("csv header only", try write("header.csv", "a,b,label\n"), "header.csv: the file has a header but no data rows")
        add("csv ragged row", try write("ragged.csv", "a,b,label\n1,2,0\n3,4\n"), "ragged.csv:3: 2 fields, expected 3 like the first line")
        add("csv text in a number column", try write("text.csv", "a,b,label\n1,2,0\n3,x7,1\n"), "text.csv:3: column 2 (\"b\"): 'x7' is not a finite number")
        add("csv NaN value", try write("nan.csv", "1,2,0\n3,nan,1\n"), "nan.csv:2: column 2: 'nan' is not a finite number")
        add("csv unterminated quote", try write("quote.csv", "a,b,label\n\"1,2,0\n"), "quote.csv:2: unterminated quoted field")
        add("csv unknown target", try write("target.csv", "a,b,label\n1,2,0\n"), "target.csv: no target column 'price': columns are a, b, label",
            extra: ["--target", "price"])

        // .safetensors datasets.
        add("safetensors exabyte header length", try write("hdr.safetensors", T.int64s([1 << 60]) + Array("{}".utf8)),
            "hdr.safetensors: not a valid safetensors file: header length 1152921504606846976 exceeds the 2 bytes after it")
        add("safetensors header not JSON", try write("json.safetensors", T.safetensors(header: "{\"x\": [", data: [])),
            "json.safetensors: not a valid safetensors file: header is not valid JSON")
        add("safetensors offsets outside buffer", try write("offsets.safetensors",
            T.safetensors(header: #"{"x":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24000000000]}}"#, data: table)),
            "offsets.safetensors: not a valid safetensors file: entry 'x' data_offsets [0, 24000000000] lie outside the 24-byte buffer")
        add("safetensors bf16", try write("bf16.safetensors", T.safetensors(header: #"{"x":{"dtype":"BF16","shape":[1],"data_offsets":[0,2]}}"#, data: [0, 0])),
            "bf16.safetensors: not a valid safetensors file: entry 'x' has unsupported dtype 'BF16'")
        let labelBytes = T.int64s([0, 1, 1])
        add("safetensors label/input mismatch", try write("mismatch.safetensors", T.safetensors(
            header: #"{"x":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},"y":{"dtype":"I64","shape":[3],"data_offsets":[24,48]}}"#,
            data: table + labelBytes)), "mismatch.safetensors: 'y' has 3 samples, its inputs have 2")
        add("safetensors NaN input", try write("nan.safetensors", T.safetensors(
            header: #"{"x":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},"y":{"dtype":"I64","shape":[2],"data_offsets":[24,40]}}"#,
            data: T.floats([0, 0, 0, 0, .nan, 0]) + T.int64s([0, 1]))), "nan.safetensors: 'x' element 4 is nan")
        return cases
    }
}
