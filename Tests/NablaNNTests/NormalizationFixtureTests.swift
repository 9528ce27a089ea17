import XCTest
@testable import NablaTensor
@testable import NablaIO
@testable import NablaNN
import NablaTestSupport

/// Every normalization layer, mode and flag combination against PyTorch golden values
/// (`Scripts/fixtures/gen_normalization.py`): forward, input/γ/β gradients, running statistics after
/// several training steps (momentum 0.1, 0.3 and None), `num_batches_tracked`, evaluation-mode
/// outputs and gradients, and the state_dict keys. Double runs must agree to 1e-10 relative, Float
/// runs to 1e-5 relative (SPEC §11).
final class NormalizationFixtureTests: XCTestCase {
    func testFixtureTableIsPresent() {
        let names = Fixtures.names("normalization")
        XCTAssertGreaterThanOrEqual(names.count, 22, "normalization fixtures missing: \(names)")
        for required in ["batchnorm1d_nc_m0.1", "batchnorm2d_mnone", "batchnorm1d_ncl_m0.3", "batchnorm3d_m0.1",
                         "batchnorm2d_noaffine", "batchnorm2d_untracked", "layernorm_2d", "groupnorm_g1",
                         "groupnorm_gc", "instancenorm2d_tracked_m0.3"] {
            XCTAssertTrue(names.contains(required), "missing fixture \(required)")
        }
    }

    func testDoubleAgreesWithPyTorch() throws {
        for name in Fixtures.names("normalization") {
            try replay(name, as: Double.self, relative: 1e-10, absolute: 1e-12)
        }
    }

    func testFloatAgreesWithPyTorch() throws {
        for name in Fixtures.names("normalization") {
            try replay(name, as: Float.self, relative: 1e-5, absolute: 1e-5)
        }
    }

    /// Builds the layer the fixture describes, loads its initial state, and replays every step.
    private func replay<S: TensorScalar>(_ name: String, as type: S.Type, relative: Double, absolute: Double) throws {
        let file = try Fixtures.load("normalization", name)
        let meta = file.metadata
        let layer: Module<S> = try XCTUnwrap(Self.makeLayer(meta), "\(name): unknown layer \(meta["layer"] ?? "")")
        XCTAssertEqual(layer.stateKeys.joined(separator: ","), meta["state_keys"], "\(name): state_dict keys")

        var state: [String: Tensor<S>] = [:]
        for key in ["weight", "bias"] where file.tensors[key] != nil { state[key] = file.tensor(key, as: S.self) }
        if file.tensors["running_mean_init"] != nil {
            state["running_mean"] = file.tensor("running_mean_init", as: S.self)
            state["running_var"] = file.tensor("running_var_init", as: S.self)
            state["num_batches_tracked"] = Tensor(zeros: [])
        }
        try layer.loadStateDict(state)

        let steps = Int(try XCTUnwrap(file.number("steps")))
        for suffix in (0..<steps).map(String.init) + ["_eval"] {
            suffix == "_eval" ? layer.eval() : layer.train()
            layer.zeroGrad()
            let x = Variable(file.tensor("x" + suffix, as: S.self), requiresGradient: true)
            let y = layer(x)
            y.backward(seed: file.tensor("dy" + suffix, as: S.self))
            let context = "\(name) \(S.self) step \(suffix)"
            func check(_ actual: Tensor<S>?, _ key: String) {
                guard let actual else { return XCTFail("\(context): no value for \(key)") }
                assertClose(actual, file.tensor(key + suffix, as: S.self), relative: relative, absolute: absolute,
                            "\(context): \(key)")
            }
            check(y.value, "y")
            check(x.grad, "dx")
            let parameters = Dictionary(uniqueKeysWithValues: layer.namedParameters().map { ($0.name, $0.variable) })
            if file.tensors["dweight" + suffix] != nil { check(parameters["weight"]?.grad, "dweight") }
            if file.tensors["dbias" + suffix] != nil { check(parameters["bias"]?.grad, "dbias") }
            let buffers = Dictionary(uniqueKeysWithValues: layer.namedBuffers().map { ($0.name, $0.buffer) })
            if file.tensors["running_mean" + suffix] != nil {
                check(buffers["running_mean"]?.value, "running_mean")
                check(buffers["running_var"]?.value, "running_var")
            }
        }
        if let tracked = file.number("num_batches_tracked") {
            let buffer = layer.namedBuffers().first { $0.name == "num_batches_tracked" }?.buffer
            XCTAssertEqual(buffer.map { Double($0.value.scalar) }, tracked, "\(name): num_batches_tracked")
        }
    }

    /// The layer described by a fixture's metadata (PyTorch constructor arguments).
    static func makeLayer<S: TensorScalar>(_ meta: [String: String]) -> Module<S>? {
        let eps = meta["eps"].flatMap(Double.init) ?? 1e-5
        let momentum: Double? = meta["momentum"] == "None" ? nil : meta["momentum"].flatMap(Double.init) ?? 0.1
        let features = meta["num_features"].flatMap(Int.init) ?? 0
        let affine = meta["affine"] == "True"
        let track = meta["track_running_stats"] == "True"
        func ints(_ key: String) -> [Int] { (meta[key] ?? "").split(separator: ",").compactMap { Int($0) } }
        switch meta["layer"] {
        case "BatchNorm1d": return BatchNorm1d<S>(features, eps: eps, momentum: momentum, affine: affine, trackRunningStats: track)
        case "BatchNorm2d": return BatchNorm2d<S>(features, eps: eps, momentum: momentum, affine: affine, trackRunningStats: track)
        case "BatchNorm3d": return BatchNorm3d<S>(features, eps: eps, momentum: momentum, affine: affine, trackRunningStats: track)
        case "InstanceNorm1d":
            return InstanceNorm1d<S>(features, eps: eps, momentum: momentum, affine: affine, trackRunningStats: track)
        case "InstanceNorm2d":
            return InstanceNorm2d<S>(features, eps: eps, momentum: momentum, affine: affine, trackRunningStats: track)
        case "LayerNorm":
            return LayerNorm<S>(ints("normalized_shape"), eps: eps, elementwiseAffine: meta["elementwise_affine"] == "True")
        case "GroupNorm":
            return GroupNorm<S>(ints("num_groups")[0], ints("num_channels")[0], eps: eps, affine: affine)
        default: return nil
        }
    }
}
