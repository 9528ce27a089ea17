import XCTest
@testable import NablaTensor
@testable import NablaIO
@testable import NablaNN
@testable import NablaOptim
@testable import NablaData
@testable import NablaTraining
@testable import NablaStudies
import NablaTestSupport

/// `nabla train` and `nabla predict` against PyTorch: the same model file, initial weights and data,
/// S full-batch steps in data order, then compare every tensor of the state dict and the eval-mode
/// predictions (Scripts/fixtures/gen_training.py).
final class EndToEndTrainingTests: XCTestCase {
    var cases: [URL] {
        let root = Fixtures.root.appendingPathComponent("training")
        let names = (try? FileManager.default.contentsOfDirectory(atPath: root.path)) ?? []
        return names.sorted().map { root.appendingPathComponent($0) }
    }

    func testTrainingMatchesPyTorchStepForStep() throws {
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: CLI.executable.path), "NOTICE: nabla executable not built")
        XCTAssertGreaterThanOrEqual(cases.count, 4)
        let output = FileManager.default.temporaryDirectory.appendingPathComponent("nabla-e2e-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: output) }
        try FileManager.default.createDirectory(at: output, withIntermediateDirectories: true)
        for dir in cases {
            let name = dir.lastPathComponent
            let flags = try String(contentsOf: dir.appendingPathComponent("args.txt"), encoding: .utf8)
                .split(whereSeparator: \.isWhitespace).map(String.init)
            let trained = output.appendingPathComponent("\(name).safetensors")
            let result = try CLI.run(["train", "--model", dir.appendingPathComponent("model.yaml").path,
                                      "--data", dir.appendingPathComponent("data.safetensors").path,
                                      "--init", dir.appendingPathComponent("init.safetensors").path,
                                      "--save", trained.path, "--quiet"] + flags)
            XCTAssertEqual(result.status, 0, "\(name): \(result.stderr)")
            let expected = try SafeTensorsFile.read(from: dir.appendingPathComponent("expected.safetensors"))
            let actual = try SafeTensorsFile.read(from: trained)
            XCTAssertEqual(Set(actual.tensors.keys), Set(expected.tensors.keys), name)
            for (key, entry) in expected.tensors {
                guard let mine = actual.tensors[key] else { continue }
                assertClose(mine.tensor(as: Double.self), entry.tensor(as: Double.self), relative: 1e-4, absolute: 1e-5, "\(name) \(key)")
            }

            let predicted = output.appendingPathComponent("\(name)-y.safetensors")
            let predict = try CLI.run(["predict", "--model", dir.appendingPathComponent("model.yaml").path, "--weights", trained.path,
                                       "--input", dir.appendingPathComponent("predict.safetensors").path, "--output", predicted.path])
            XCTAssertEqual(predict.status, 0, "\(name): \(predict.stderr)")
            let y = try SafeTensorsFile.read(from: predicted).tensors["y"]!.tensor(as: Double.self)
            let reference = try SafeTensorsFile.read(from: dir.appendingPathComponent("predict.safetensors")).tensors["y"]!.tensor(as: Double.self)
            assertClose(y, reference, relative: 1e-4, absolute: 1e-5, "\(name) predict")
        }
    }
}
