import XCTest
import NablaTensor
import NablaNN

/// A layer defined outside Nabla (through the public API only), registered by name so that model
/// descriptions can use it, at the top level and inside a `Residual` branch.
final class LayerRegistrationTests: XCTestCase {
    /// `factor·x`, as a user-defined layer.
    final class Scale: Module<Float> {
        let factor: Float
        init(_ factor: Float) { self.factor = factor; super.init() }
        override func forward(_ input: Variable<Float>) -> Variable<Float> { input * factor }
        override var configurationDescription: String { "factor=\(factor)" }
    }

    /// Registered once per process (the registry rejects a second registration of a name).
    static let registered: Void = LayerRegistry.register(LayerFactory("TestScale") { arguments, shape, _ in
        (Scale(Float(try arguments.double("factor", default: 2))), shape)
    })

    override func setUp() { Self.registered }

    func testARegisteredLayerBuildsFromAModelFileAndInsideAResidualBranch() throws {
        let description = try ModelDescription.parse("""
            layers:
              - testscale: {factor: 3}
              - Residual: {layers: [{TestScale: {}}]}
            """, name: "m.yaml")
        var generator = RandomGenerator(seed: 0)
        let built = try description.build(inputShape: [2], using: &generator)
        XCTAssertEqual(built.layers[0].description, "TestScale(factor=3.0)")
        // 3x, then 3x + 2·3x.
        XCTAssertEqual(built.model(Tensor<Float>(shape: [1, 2], scalars: [1, -2])).scalars, [9, -18])
        XCTAssertTrue(LayerRegistry.names.contains("TestScale"))
    }

    func testARegisteredLayerRejectsUnknownArguments() {
        var generator = RandomGenerator(seed: 0)
        XCTAssertThrowsError(try ModelDescription.parse("layers:\n  - TestScale: {factr: 3}", name: "m.yaml")
            .build(inputShape: [2], using: &generator)) { error in
            XCTAssertTrue("\(error)".contains("m.yaml: layer 0 (TestScale): unknown argument 'factr'"), "\(error)")
        }
    }
}
