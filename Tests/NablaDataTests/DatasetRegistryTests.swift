import XCTest
@testable import NablaTensor
@testable import NablaData
import NablaTestSupport

/// The `--data` forms: the built-in table, and a form registered from outside Nabla (`constant:N`)
/// that parses, reports its errors in one line and loads by spec.
final class DatasetRegistryTests: XCTestCase {
    /// `constant:N[?value=V]`: N samples of two features equal to V (1), labels alternating 0, 1.
    static let constant = DatasetForm(.scheme("constant"), grammar: "constant:N[?value=V]",
                                      summary: "N samples of two features equal to V, labels alternating") { spec in
        guard let count = Int(spec.body), count > 0 else {
            throw NablaError(.invalidArgument, "--data \(spec.spec): N must be a positive integer")
        }
        let value = try spec.parameters.double("value", default: 1, in: -1e6...1e6)
        return .custom(CustomDataset(spec: spec.spec) { _ in
            let inputs = Tensor<Float>(repeating: Float(value), shape: [count, 2])
            return (Dataset(name: "constant", inputs: inputs, targets: .classes((0..<count).map { $0 % 2 }, classCount: 2)), nil)
        })
    }

    override class func setUp() {
        super.setUp()
        DatasetRegistry.register(constant)
    }

    func testBuiltInFormsInOrder() {
        XCTAssertEqual(Array(DatasetRegistry.forms.prefix(10).map(\.pattern)), [
            .name("fashion-mnist"), .scheme("mnist"), .scheme("cifar10"), .scheme("cifar100"), .scheme("images"), .fileExtension("safetensors"),
            .fileExtension("npz"), .fileExtension("npy"), .fileExtension("csv"), .scheme("synthetic"),
        ])
        XCTAssertEqual(DatasetRegistry.forms.filter(\.acceptsTarget).map(\.pattern.description), [".npy", ".csv"])
        XCTAssertTrue(DatasetSource.acceptedForms.hasPrefix("fashion-mnist, mnist:DIR[?classes=N], cifar10:DIR, cifar100:DIR, images:DIR, FILE.safetensors"))
    }

    func testARegisteredFormParsesAndLoadsBySpec() throws {
        DatasetRegistry.register(Self.constant)   // the same form again: no-op
        XCTAssertEqual(DatasetRegistry.forms.filter { $0.pattern == .scheme("constant") }.count, 1)
        XCTAssertTrue(DatasetSource.acceptedForms.contains("constant:N[?value=V]"))
        let source = try DatasetSource.parse("constant:6?value=2.5")
        guard case .custom(let custom) = source else { return XCTFail("\(source)") }
        XCTAssertEqual(custom.spec, "constant:6?value=2.5")
        XCTAssertEqual(source, try DatasetSource.parse("constant:6?value=2.5"))
        let (train, test) = try source.load(seed: 1)
        XCTAssertNil(test)
        XCTAssertEqual(train.inputs.shape, [6, 2])
        XCTAssertEqual(Set(train.inputs.scalars), [2.5])
        XCTAssertEqual(train.targets, .classes([0, 1, 0, 1, 0, 1], classCount: 2))

        assertNablaError(try DatasetSource.parse("constant:x"), "--data constant:x: N must be a positive integer", kind: .invalidArgument)
        assertNablaError(try DatasetSource.parse("constant:3?valu=2"), "unknown parameter 'valu' (accepted: value)")
        assertNablaError(try DatasetSource.parse("constant:3?value=nan"), "value=nan is not a number")
        assertNablaError(try DatasetSource.parse("constant:3", target: "0"), "--target 0: only .csv and .npy datasets have a target column")
        // A file whose name merely contains the scheme is still a file.
        XCTAssertEqual(try DatasetSource.parse("dir/constant:3.npz"), .npz(path: "dir/constant:3.npz"))
    }
}
