import XCTest
@testable import NablaTensor
@testable import NablaIO
@testable import NablaNN
import NablaTestSupport

final class ModuleTests: XCTestCase {
    func makeModel() -> Sequential<Float> {
        var g = RandomGenerator(seed: 3)
        return Sequential([Flatten(), Linear(6, 4, using: &g), ReLU(), Linear(4, 2, bias: false, using: &g)])
    }

    func testStateKeysFollowPyTorch() {
        let model = makeModel()
        XCTAssertEqual(model.stateKeys, ["1.weight", "1.bias", "3.weight"])
        XCTAssertEqual(model.stateDict()["1.weight"]?.shape, [4, 6])
        XCTAssertEqual(model.parameterCount, 4 * 6 + 4 + 2 * 4)
    }

    func testTrainAndEvalPropagateToChildren() {
        let model = makeModel()
        XCTAssertTrue(model.layers.allSatisfy(\.isTraining))
        model.eval()
        XCTAssertTrue(model.layers.allSatisfy { !$0.isTraining })
        model.train()
        XCTAssertTrue(model.layers.allSatisfy(\.isTraining))
        model.evaluating { XCTAssertFalse(model.layers[1].isTraining) }
        XCTAssertTrue(model.layers[1].isTraining)
    }

    func testLoadStateDictErrorsNameTheKeyAndShapes() {
        let model = makeModel()
        var dict = model.stateDict()
        dict["3.weight"] = nil
        XCTAssertThrowsError(try model.loadStateDict(dict)) { error in
            XCTAssertEqual((error as? NablaError)?.message, "state dict is missing key '3.weight' (expected shape [2, 4])")
        }
        dict = model.stateDict()
        dict["9.bias"] = Tensor(zeros: [2])
        XCTAssertThrowsError(try model.loadStateDict(dict)) { error in
            XCTAssertEqual((error as? NablaError)?.message, "state dict has unexpected key '9.bias' of shape [2]")
        }
        dict = model.stateDict()
        dict["1.weight"] = Tensor(zeros: [6, 4])
        XCTAssertThrowsError(try model.loadStateDict(dict)) { error in
            XCTAssertEqual((error as? NablaError)?.message, "state dict key '1.weight' has shape [6, 4], the model expects [4, 6]")
        }
        // Nothing was modified by the failed loads.
        XCTAssertEqual(model.stateDict(), makeModel().stateDict())
        // Non-strict loading ignores missing and extra keys.
        dict = ["3.weight": Tensor(ones: [2, 4]), "extra": Tensor(zeros: [1])]
        XCTAssertNoThrow(try model.loadStateDict(dict, strict: false))
        XCTAssertEqual(model.stateDict()["3.weight"], Tensor(ones: [2, 4]))
    }

    func testSaveAndLoadRoundTripThroughSafeTensors() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("nabla-module-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let url = dir.appendingPathComponent("model.safetensors")
        let model = makeModel()
        try model.save(to: url)
        let other = Sequential<Float>([Flatten(), Linear(6, 4), ReLU(), Linear(4, 2, bias: false)])
        XCTAssertNotEqual(other.stateDict(), model.stateDict())
        try other.load(from: url)
        XCTAssertEqual(other.stateDict(), model.stateDict())
        // A Double model loads the Float file (dtype converted).
        let wide = Sequential<Double>([Flatten(), Linear(6, 4), ReLU(), Linear(4, 2, bias: false)])
        try wide.load(from: url)
        XCTAssertEqual(wide.stateDict()["1.bias"]!.scalars.map(Float.init), model.stateDict()["1.bias"]!.scalars)
    }

    func testLinearDefaultInitializationBounds() {
        var g = RandomGenerator(seed: 5)
        let layer = Linear<Float>(100, 50, using: &g)
        let bound: Float = 0.1
        XCTAssertLessThanOrEqual(layer.weight.value.max(), bound)
        XCTAssertGreaterThanOrEqual(layer.weight.value.min(), -bound)
        XCTAssertGreaterThan(layer.weight.value.max(), bound * 0.95)
        XCTAssertEqual(layer.bias!.value.shape, [50])
    }

    func testInitializerStatistics() {
        var g = RandomGenerator(seed: 9)
        let kaiming = Tensor<Double>.kaimingNormal([400, 300], nonlinearity: .relu, using: &g)
        XCTAssertEqual(kaiming.variance(alongAxes: [0, 1]).scalar, 2.0 / 300, accuracy: 2.0 / 300 * 0.03)
        let xavier = Tensor<Double>.xavierUniform([400, 300], using: &g)
        XCTAssertEqual(xavier.variance(alongAxes: [0, 1]).scalar, 2.0 / 700, accuracy: 2.0 / 700 * 0.03)
        XCTAssertEqual(fans(of: [8, 3, 5, 5]).fanIn, 75)
        XCTAssertEqual(fans(of: [8, 3, 5, 5]).fanOut, 200)
        XCTAssertEqual(Nonlinearity.leakyRelu(negativeSlope: 5.0.squareRoot()).gain, (1.0 / 3).squareRoot(), accuracy: 1e-12)
    }

    func testDescriptionIsPyTorchLike() {
        XCTAssertEqual(makeModel().description, """
            Sequential(
              (0): Flatten(start_dim=1, end_dim=-1)
              (1): Linear(in_features=6, out_features=4, bias=True)
              (2): ReLU()
              (3): Linear(in_features=4, out_features=2, bias=False)
            )
            """)
    }
}
