import Foundation
import XCTest
@testable import NablaTensor
@testable import NablaIO
@testable import NablaNN
@testable import NablaOptim
@testable import NablaData
@testable import NablaTraining
import NablaTestSupport

/// Replays every input the fuzzer ever crashed on (`Fixtures/fuzz-regressions/<target>/*`, kept by
/// `make fuzz`; see `Fuzz/README.md`) through the same entry point as its fuzz target
/// (`Fuzz/Sources/FuzzTargets.swift`). Each must now succeed or throw a ``NablaError`` — a trap
/// would kill the test process, which is the failure this suite exists to catch.
///
/// `make test` runs these instead of the fuzzer itself: building the sanitized fuzz binary alone
/// takes about three minutes on the two-core CI machine, over the budget for the whole fuzz step.
final class FuzzRegressionTests: XCTestCase {
    static let directory = Fixtures.root.appendingPathComponent("fuzz-regressions")

    /// The parser entry points, keyed like the fuzz targets.
    static let targets: [String: ([UInt8]) throws -> Void] = [
        "idx": { data in
            for rank in [1, 3] { _ = try? IDXFile.parse(data, name: "fuzz.idx", expectedRank: rank) }
        },
        "gzip": { data in
            guard data.count >= 5 else { return }
            let inflater = try Inflater(Array(data[5...]), format: data[0] & 1 == 0 ? .gzip : .rawDeflate, name: "fuzz.gz")
            let declared = Int(data.littleEndianUInt32(at: 1))
            guard declared <= inflater.maximumOutputCount else { return }
            _ = try inflater.read(count: declared, what: "the declared bytes")
            try inflater.finish()
        },
        "cifar": { data in
            let url = FileManager.default.temporaryDirectory.appendingPathComponent("fuzz-cifar-\(UUID().uuidString).bin")
            try Data(data).write(to: url)
            defer { try? FileManager.default.removeItem(at: url) }
            for variant in [CIFAR.Variant.cifar10, .cifar100] { _ = try? CIFAR.loadFiles([url], variant: variant, name: "fuzz") }
        },
        "npy": { data in
            let array = try NumPyArray.parse(data, name: "fuzz.npy")
            _ = array.integers() ?? array.floats().map(Int.init)
        },
        "npz": { data in _ = try ArrayFileDatasets.parseNPZ(data, file: "fuzz.npz", name: "fuzz") },
        "safetensors": { data in
            let file = try SafeTensorsFile.parse(data, name: "fuzz.safetensors")
            for tensor in file.tensors.values {
                _ = tensor.tensor(as: Float.self)
                _ = tensor.intValues
            }
        },
        "csv": { data in
            _ = try CSVTable.parse(data, name: "fuzz.csv")
            _ = try CSVTable.parse(data, name: "fuzz.csv", allowingText: true)
        },
        "png": { data in
            _ = try PNGImage.header(of: data, name: "fuzz.png")
            _ = try PNGImage.decode(data, name: "fuzz.png", color: true)
        },
        "model": { data in
            let description = try ModelDescription.parse(String(decoding: data, as: UTF8.self), name: "fuzz.yaml",
                                                         isJSON: data.first == UInt8(ascii: "{"))
            var generator = RandomGenerator(seed: 0)
            _ = try description.build(inputShape: description.inputShape ?? [1, 8, 8], using: &generator)
        },
        "checkpoint": { data in
            let checkpoint = try Checkpoint.parse(data, name: "fuzz.checkpoint")
            let model = Sequential<Float>([Linear(4, 3), BatchNorm1d(3), Dropout(0.5), Linear(3, 2)])
            try model.loadStateDict(checkpoint.model)
        },
    ]

    func testEverySavedCrashNowThrowsANablaErrorOrSucceeds() throws {
        let fm = FileManager.default
        let folders = try fm.contentsOfDirectory(atPath: Self.directory.path).sorted()
        XCTAssertEqual(Set(folders).subtracting(Self.targets.keys), [], "a regression folder without a fuzz target")
        var replayed = 0
        for target in folders {
            let folder = Self.directory.appendingPathComponent(target)
            for name in try fm.contentsOfDirectory(atPath: folder.path).sorted() {
                let data = [UInt8](try Data(contentsOf: folder.appendingPathComponent(name)))
                let start = Date()
                do {
                    try Self.targets[target]!(data)
                } catch let error as NablaError {
                    XCTAssertFalse(error.message.contains("\n"), "\(target)/\(name): multi-line message \(error.message)")
                } catch {
                    XCTFail("\(target)/\(name): threw \(type(of: error)) \(error), not a NablaError")
                }
                XCTAssertLessThan(Date().timeIntervalSince(start), 5, "\(target)/\(name) took too long")
                replayed += 1
            }
        }
        XCTAssertGreaterThanOrEqual(replayed, 3, "the regression inputs were not bundled")
    }

    /// The findings by name, with the message each now gives.
    func testKnownFindingsGiveTheirMessages() throws {
        func run(_ target: String, _ name: String) throws -> String? {
            let data = [UInt8](try Data(contentsOf: Self.directory.appendingPathComponent("\(target)/\(name)")))
            do { try Self.targets[target]!(data) } catch let error as NablaError { return error.message }
            return nil
        }
        XCTAssertEqual(try run("model", "billion-laughs.yaml"),
                       "fuzz.yaml: the YAML document expands to more than 100000 nodes (aliases of aliases — a 'billion laughs' bomb?)")
        XCTAssertEqual(try run("model", "tagged-non-scalar-key.yaml").map { $0.contains("a mapping key must be a plain string") }, true)
        // A float label of 1e30 no longer traps: it saturates and is then an out-of-range label.
        let file = try SafeTensorsFile.parse([UInt8](try Data(contentsOf: Self.directory.appendingPathComponent("safetensors/float-label-beyond-int-max"))),
                                             name: "f")
        XCTAssertTrue(file.tensors.values.contains { $0.intValues.contains { abs($0) >= 9_000_000_000_000_000_000 } })
    }
}
