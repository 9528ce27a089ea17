import XCTest
@testable import NablaTensor
@testable import NablaIO
@testable import NablaNN
import NablaTestSupport

/// The fused normalization kernels against the same normalizations composed from primitive
/// differentiable ops (mean, subtract, square, square root, divide), on small inputs and on inputs
/// large enough to take the parallel paths and the blocked statistics; and the identities between
/// the family's members.
final class NormalizationTests: XCTestCase {
    typealias V = Variable<Double>

    /// `(x − mean)/√(var + ε)` over `axes` from primitive ops: the oracle of the fused kernels.
    private func composedNormalize(_ x: V, axes: [Int], eps: Double = 1e-5) -> V {
        let centered = x - x.mean(alongAxes: axes, keepingDimensions: true)
        let variance = centered.squared().mean(alongAxes: axes, keepingDimensions: true)
        return centered / (variance + eps).squareRoot()
    }

    /// A per-channel parameter broadcast over `[N, C, *]` of rank `rank`.
    private func channelwise(_ p: V, rank: Int) -> V {
        p.reshaped(to: [1, p.shape[0]] + Array(repeating: 1, count: rank - 2))
    }

    /// Runs `fused` and `composed` on the same random input and parameters with the same upstream
    /// gradient; asserts equal outputs and gradients for every input.
    private func assertSameFunction(
        shapes: [[Int]], seed: UInt64 = 5, tolerance: Double = 1e-10, _ label: String,
        fused: ([V]) -> V, composed: ([V]) -> V, file: StaticString = #filePath, line: UInt = #line
    ) {
        var generator = RandomGenerator(seed: seed)
        let values = shapes.enumerated().map { index, shape in
            index == 0 ? Tensor<Double>(normal: shape, mean: 3, standardDeviation: 2, using: &generator)
                       : Tensor<Double>(uniform: shape, lower: 0.5, upper: 1.5, using: &generator)
        }
        func run(_ f: ([V]) -> V) -> (Tensor<Double>, [Tensor<Double>]) {
            let leaves = values.map { V($0, requiresGradient: true) }
            let y = f(leaves)
            var g = RandomGenerator(seed: seed + 1)
            y.backward(seed: Tensor(normal: y.shape, using: &g))
            return (y.value, leaves.map { $0.grad ?? Tensor(zeros: $0.shape) })
        }
        let (yf, gf) = run(fused), (yc, gc) = run(composed)
        assertClose(yf, yc, relative: tolerance, absolute: tolerance, "\(label): output", file: file, line: line)
        for i in 0..<gf.count {
            assertClose(gf[i], gc[i], relative: tolerance, absolute: tolerance, "\(label): gradient \(i)", file: file, line: line)
        }
    }

    private func assertBatchNormMatchesComposition(_ shape: [Int], tolerance: Double = 1e-10) {
        let axes = [0] + Array(2..<shape.count)
        assertSameFunction(shapes: [shape, [shape[1]], [shape[1]]], tolerance: tolerance, "batchNorm \(shape)",
            fused: { batchNorm($0[0], runningMean: nil, runningVariance: nil, weight: $0[1], bias: $0[2], training: true) },
            composed: {
                self.composedNormalize($0[0], axes: axes) * self.channelwise($0[1], rank: shape.count)
                    + self.channelwise($0[2], rank: shape.count)
            })
    }

    func testBatchNormMatchesCompositionInEveryLayout() {
        for shape in [[6, 4], [4, 3, 5], [2, 3, 4, 5], [2, 2, 3, 2, 2]] { assertBatchNormMatchesComposition(shape) }
    }

    func testBatchNormParallelAndBlockedPathsMatchComposition() {
        assertBatchNormMatchesComposition([256, 160])        // (N, C) column chunks in parallel
        assertBatchNormMatchesComposition([4, 8, 32, 36])    // channels in parallel
        assertBatchNormMatchesComposition([2, 3, 64, 80])    // runs longer than one statistics block
    }

    func testLayerNormMatchesComposition() {
        for (shape, normalized) in [([3, 5], [5]), ([2, 3, 4], [3, 4]), ([300, 130], [130]), ([3, 5000], [5000])] {
            let axes = Array((shape.count - normalized.count)..<shape.count)
            assertSameFunction(shapes: [shape, normalized, normalized], "layerNorm \(shape)",
                fused: { layerNorm($0[0], normalizedShape: normalized, weight: $0[1], bias: $0[2]) },
                composed: { self.composedNormalize($0[0], axes: axes) * $0[1] + $0[2] })
        }
    }

    func testGroupNormMatchesComposition() {
        for (shape, groups) in [([2, 4, 3, 2], 1), ([2, 4, 3, 2], 2), ([2, 4, 3, 2], 4), ([3, 6, 5], 3), ([4, 8, 32, 36], 2)] {
            let n = shape[0], rank = shape.count
            assertSameFunction(shapes: [shape, [shape[1]], [shape[1]]], "groupNorm \(shape) G=\(groups)",
                fused: { groupNorm($0[0], groupCount: groups, weight: $0[1], bias: $0[2]) },
                composed: {
                    let grouped = self.composedNormalize($0[0].reshaped(to: [n, groups, -1]), axes: [2])
                    return grouped.reshaped(to: shape) * self.channelwise($0[1], rank: rank) + self.channelwise($0[2], rank: rank)
                })
        }
    }

    func testInstanceNormMatchesComposition() {
        let shape = [3, 4, 5, 6]
        assertSameFunction(shapes: [shape, [4], [4]], "instanceNorm",
            fused: { instanceNorm($0[0], runningMean: nil, runningVariance: nil, weight: $0[1], bias: $0[2], useInputStatistics: true) },
            composed: {
                self.composedNormalize($0[0], axes: [2, 3]) * self.channelwise($0[1], rank: 4) + self.channelwise($0[2], rank: 4)
            })
    }

    // MARK: Identities

    /// Copies `source`'s parameters into `target` (same names and shapes, or broadcast to them).
    private func copyParameters(from source: Module<Double>, to target: Module<Double>) {
        let values = Dictionary(uniqueKeysWithValues: source.namedParameters().map { ($0.name, $0.variable.value) })
        for (name, p) in target.namedParameters() {
            let value = values[name]!
            p.value = value.shape == p.shape ? value : value.reshaped(to: [value.count, 1, 1]) + Tensor(zeros: p.shape)
        }
    }

    private func randomizeParameters(_ module: Module<Double>, seed: UInt64) {
        var g = RandomGenerator(seed: seed)
        for p in module.parameters { p.value = Tensor(normal: p.shape, mean: 1, standardDeviation: 0.5, using: &g) }
    }

    /// Runs `module` on `input` with upstream gradient `seed`; returns output, input gradient, and
    /// the parameter gradients by name.
    private func evaluate(_ module: Module<Double>, _ input: Tensor<Double>, _ seed: Tensor<Double>)
        -> (Tensor<Double>, Tensor<Double>, [String: Tensor<Double>]) {
        module.zeroGrad()
        let x = V(input, requiresGradient: true)
        let y = module(x)
        y.backward(seed: seed)
        let grads = Dictionary(uniqueKeysWithValues: module.namedParameters().map { ($0.name, $0.variable.grad!) })
        return (y.value, x.grad!, grads)
    }

    func testGroupNormWithOneGroupPerChannelIsInstanceNormWithAffine() {
        var g = RandomGenerator(seed: 11)
        let x = Tensor<Double>(normal: [3, 4, 5, 2], mean: 1, standardDeviation: 3, using: &g)
        let dy = Tensor<Double>(normal: x.shape, using: &g)
        let group = GroupNorm<Double>(4, 4), instance = InstanceNorm2d<Double>(4, affine: true)
        randomizeParameters(group, seed: 12)
        copyParameters(from: group, to: instance)
        let (yg, dxg, pg) = evaluate(group, x, dy), (yi, dxi, pi) = evaluate(instance, x, dy)
        assertClose(yg, yi, relative: 1e-12, absolute: 1e-12)
        assertClose(dxg, dxi, relative: 1e-12, absolute: 1e-12)
        assertClose(pg["weight"]!, pi["weight"]!, relative: 1e-12, absolute: 1e-12)
        assertClose(pg["bias"]!, pi["bias"]!, relative: 1e-12, absolute: 1e-12)
    }

    func testGroupNormWithOneGroupIsLayerNormOverCHWUpToThePerChannelAffine() {
        var g = RandomGenerator(seed: 21)
        let x = Tensor<Double>(normal: [3, 4, 5, 2], mean: -2, standardDeviation: 2, using: &g)
        let dy = Tensor<Double>(normal: x.shape, using: &g)
        // Without affine parameters the two are the same function.
        let (yg, dxg, _) = evaluate(GroupNorm<Double>(1, 4, affine: false), x, dy)
        let (yl, dxl, _) = evaluate(LayerNorm<Double>([4, 5, 2], elementwiseAffine: false), x, dy)
        assertClose(yg, yl, relative: 1e-12, absolute: 1e-12)
        assertClose(dxg, dxl, relative: 1e-12, absolute: 1e-12)
        // With a per-channel γ, β broadcast into LayerNorm's elementwise ones, still the same; the
        // elementwise gradients sum over (H, W) to the per-channel ones.
        let group = GroupNorm<Double>(1, 4), layer = LayerNorm<Double>([4, 5, 2])
        randomizeParameters(group, seed: 22)
        copyParameters(from: group, to: layer)
        let (ya, dxa, pa) = evaluate(group, x, dy), (yb, dxb, pb) = evaluate(layer, x, dy)
        assertClose(ya, yb, relative: 1e-12, absolute: 1e-12)
        assertClose(dxa, dxb, relative: 1e-12, absolute: 1e-12)
        assertClose(pa["weight"]!, pb["weight"]!.sum(alongAxes: [1, 2]), relative: 1e-12, absolute: 1e-12)
        assertClose(pa["bias"]!, pb["bias"]!.sum(alongAxes: [1, 2]), relative: 1e-12, absolute: 1e-12)
    }

    func testEvalBatchNormIsTheAffineMapOfTheRunningStatistics() {
        var g = RandomGenerator(seed: 31)
        let layer = BatchNorm2d<Double>(3, eps: 1e-3)
        randomizeParameters(layer, seed: 32)
        layer.runningMean!.value = Tensor(normal: [3], using: &g)
        layer.runningVariance!.value = Tensor(uniform: [3], lower: 0.2, upper: 3, using: &g)
        layer.eval()
        let x = Tensor<Double>(normal: [2, 3, 4, 3], using: &g)
        let y = layer(x)
        let (gamma, beta) = (layer.weight!.value, layer.bias!.value)
        let (mu, variance) = (layer.runningMean!.value, layer.runningVariance!.value)
        var expected = x
        for n in 0..<2 { for c in 0..<3 { for h in 0..<4 { for w in 0..<3 {
            expected[n, c, h, w] = gamma[c] * (x[n, c, h, w] - mu[c]) / (variance[c] + 1e-3).squareRoot() + beta[c]
        } } } }
        assertClose(y, expected, relative: 1e-13, absolute: 1e-13)
        XCTAssertEqual(layer.batchesTracked!.value.scalar, 0, "evaluation must not count batches")
    }

    func testCumulativeMomentumAveragesTheBatchStatistics() {
        var g = RandomGenerator(seed: 41)
        let layer = BatchNorm1d<Double>(3, momentum: nil)
        var means: [Tensor<Double>] = [], variances: [Tensor<Double>] = []
        for step in 1...4 {
            let x = Tensor<Double>(normal: [5, 3], mean: Double(step), standardDeviation: Double(step), using: &g)
            means.append(x.mean(alongAxes: [0]))
            variances.append(x.variance(alongAxes: [0], unbiased: true))
            _ = withoutGradient { layer(Variable(x)) }
        }
        XCTAssertEqual(layer.batchesTracked!.value.scalar, 4)
        assertClose(layer.runningMean!.value, means.reduce(Tensor(zeros: [3]), +) / 4, relative: 1e-12, absolute: 1e-12)
        assertClose(layer.runningVariance!.value, variances.reduce(Tensor(zeros: [3]), +) / 4, relative: 1e-12, absolute: 1e-12)
    }

    func testFloatStatisticsAreStableUnderALargeOffset() {
        // E[x²] − E[x]² in Float would lose the unit variance entirely at an offset of 1e4, and a
        // mean rounded to Float would shift x̂ by up to 5e-4.
        var g = RandomGenerator(seed: 51)
        let xf = Tensor<Float>(Tensor<Double>(normal: [16, 2, 32, 32], mean: 1e4, standardDeviation: 1, using: &g))
        let xd = Tensor<Double>(xf)
        let cases: [(String, (Variable<Float>) -> Variable<Float>, (V) -> V)] = [
            ("batchNorm", { batchNorm($0, runningMean: nil, runningVariance: nil, weight: nil, bias: nil, training: true) },
                          { batchNorm($0, runningMean: nil, runningVariance: nil, weight: nil, bias: nil, training: true) }),
            ("layerNorm", { layerNorm($0, normalizedShape: [32, 32], weight: nil, bias: nil) },
                          { layerNorm($0, normalizedShape: [32, 32], weight: nil, bias: nil) }),
            ("groupNorm", { groupNorm($0, groupCount: 1, weight: nil, bias: nil) },
                          { groupNorm($0, groupCount: 1, weight: nil, bias: nil) }),
        ]
        for (name, single, double) in cases {
            let fused = withoutGradient { single(Variable(xf)).value }
            let exact = withoutGradient { double(V(xd)).value }
            assertClose(Tensor<Double>(fused), exact, relative: 1e-5, absolute: 2e-6, name)
        }
    }
}
