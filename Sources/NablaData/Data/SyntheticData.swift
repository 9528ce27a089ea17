import Foundation
import NablaTensor

/// Small generated datasets, deterministic under a seed (streams of ``/NablaData/NablaTensor/RandomGenerator/init(seed:stream:_:)``:
/// 1 = training noise, 2 = test noise, 3 = shared structure such as blob centers).
///
/// Spec grammar: `synthetic:NAME[?key=value[&key=value…]]`, e.g. `synthetic:line?n=200&sigma=0.1`.
/// - `line` — seed 004's `gen_data`: `x = linspace(-1, 1, n)` as `[n, 1]`, `y = slope·x + N(0, sigma²)`;
///   the test split has the same `x` and noise `test_sigma`. Keys: `n` (10), `sigma` (0.5),
///   `test_sigma` (0.3), `slope` (1.5), `x` (`grid` = linspace, or `uniform` = U(-1, 1) draws).
/// - `spirals` — cs231n's K-class spiral: for class `k`, `r = linspace(0, 1, n)`,
///   `t = linspace(4k, 4(k+1), n) + N(0, noise²)`, point `(r·sin t, r·cos t)`. Keys: `n` per class (100),
///   `classes` (3), `noise` (0.2), `test_n` per class (= `n`).
/// - `blobs` — isotropic Gaussian blobs (scikit-learn's `make_blobs`): centers `U(-box, box)^dim`,
///   points `center + N(0, std²)`. Keys: `n` per class (100), `classes` (3), `dim` (2), `std` (1),
///   `box` (10), `test_n` per class (= `n`).
public enum SyntheticDataset: Equatable, Sendable {
    /// Seed 004's noisy line `y = slope·x + N(0, sigma²)` on `count` points of `[-1, 1]` (a grid, or `uniform` draws); the test split uses noise `testSigma`.
    case line(count: Int, sigma: Double, testSigma: Double, slope: Double, uniform: Bool)
    /// cs231n's spiral of `classCount` arms with `countPerClass` points each and angular noise `N(0, noise²)`.
    case spirals(countPerClass: Int, classCount: Int, noise: Double, testCountPerClass: Int)
    /// `classCount` isotropic Gaussian blobs in `dimension` dimensions: centres `U(-box, box)`, points `centre + N(0, standardDeviation²)`.
    case blobs(countPerClass: Int, classCount: Int, dimension: Int, standardDeviation: Double, box: Double, testCountPerClass: Int)

    /// The names after `synthetic:`.
    public static let names = ["line", "spirals", "blobs"]

    /// Parses `NAME` and its parameters; `spec` is the whole spec for messages.
    static func parse(name: String, parameters: inout SpecParameters, spec: String) throws -> SyntheticDataset {
        let result: SyntheticDataset
        let maxCount = 10_000_000
        switch name {
        case "line":
            enum Spacing: String { case grid, uniform }
            result = .line(count: try parameters.int("n", default: 10, in: 1...maxCount),
                           sigma: try parameters.double("sigma", default: 0.5, in: 0...1e6),
                           testSigma: try parameters.double("test_sigma", default: 0.3, in: 0...1e6),
                           slope: try parameters.double("slope", default: 1.5, in: -1e6...1e6),
                           uniform: try parameters.choice("x", default: Spacing.grid, [.grid, .uniform]) == .uniform)
        case "spirals":
            let n = try parameters.int("n", default: 100, in: 1...maxCount)
            let classes = try parameters.int("classes", default: 3, in: 1...1000)
            result = .spirals(countPerClass: n, classCount: classes,
                              noise: try parameters.double("noise", default: 0.2, in: 0...1e6),
                              testCountPerClass: try parameters.int("test_n", default: n, in: 0...maxCount))
        case "blobs":
            let n = try parameters.int("n", default: 100, in: 1...maxCount)
            let classes = try parameters.int("classes", default: 3, in: 1...1000)
            let dimension = try parameters.int("dim", default: 2, in: 1...10_000)
            result = .blobs(countPerClass: n, classCount: classes, dimension: dimension,
                            standardDeviation: try parameters.double("std", default: 1, in: 0...1e6),
                            box: try parameters.double("box", default: 10, in: 0...1e6),
                            testCountPerClass: try parameters.int("test_n", default: n, in: 0...maxCount))
        default:
            throw NablaError(.invalidArgument, "--data \(spec): unknown synthetic dataset '\(name)' (known: \(names.joined(separator: ", ")))")
        }
        try parameters.finish()
        guard result.elementCount <= 100_000_000 else {
            throw NablaError(.invalidArgument, "--data \(spec): \(result.elementCount) values is too large for a synthetic dataset (limit 10^8)")
        }
        return result
    }

    /// The number of input values both splits hold (for the size limit).
    var elementCount: Int {
        switch self {
        case .line(let n, _, _, _, _): return 2 * n
        case .spirals(let n, let k, _, let t): return 2 * k * (n + t)
        case .blobs(let n, let k, let d, _, _, let t): return k * d * (n + t)
        }
    }

    /// The training and test splits for `seed`; the test split is `nil` when it has no samples.
    public func generate(seed: UInt64) -> (train: Dataset, test: Dataset?) {
        var trainGenerator = RandomGenerator(seed: seed, stream: 1)
        var testGenerator = RandomGenerator(seed: seed, stream: 2)
        switch self {
        case let .line(n, sigma, testSigma, slope, uniform):
            var xs = linspace(-1, 1, n)
            var testXs = xs
            if uniform {
                xs = (0..<n).map { _ in -1 + 2 * trainGenerator.nextUnit() }
                testXs = (0..<n).map { _ in -1 + 2 * testGenerator.nextUnit() }
            }
            func split(_ x: [Double], _ noise: Double, _ g: inout RandomGenerator, _ part: String) -> Dataset {
                let y = x.map { slope * $0 + noise * g.nextNormal() }
                return Dataset(name: "synthetic-line/\(part)", inputs: Tensor(shape: [n, 1], scalars: x.map { Float($0) }),
                               targets: .values(Tensor(shape: [n, 1], scalars: y.map { Float($0) })))
            }
            return (split(xs, sigma, &trainGenerator, "train"), split(testXs, testSigma, &testGenerator, "test"))
        case let .spirals(n, k, noise, testN):
            func split(_ count: Int, _ g: inout RandomGenerator, _ part: String) -> Dataset {
                var points: [Float] = [], labels: [Int] = []
                for j in 0..<k {
                    let radii = linspace(0, 1, count), angles = linspace(Double(4 * j), Double(4 * (j + 1)), count)
                    for i in 0..<count {
                        let t = angles[i] + noise * g.nextNormal()
                        points += [Float(radii[i] * sin(t)), Float(radii[i] * cos(t))]
                        labels.append(j)
                    }
                }
                return Dataset(name: "synthetic-spirals/\(part)", inputs: Tensor(shape: [count * k, 2], scalars: points),
                               targets: .classes(labels, classCount: k))
            }
            return (split(n, &trainGenerator, "train"), testN > 0 ? split(testN, &testGenerator, "test") : nil)
        case let .blobs(n, k, d, std, box, testN):
            var centerGenerator = RandomGenerator(seed: seed, stream: 3)
            let centers = (0..<(k * d)).map { _ in -box + 2 * box * centerGenerator.nextUnit() }
            func split(_ count: Int, _ g: inout RandomGenerator, _ part: String) -> Dataset {
                var points: [Float] = [], labels: [Int] = []
                points.reserveCapacity(count * k * d)
                for j in 0..<k {
                    for _ in 0..<count {
                        for c in 0..<d { points.append(Float(centers[j * d + c] + std * g.nextNormal())) }
                        labels.append(j)
                    }
                }
                return Dataset(name: "synthetic-blobs/\(part)", inputs: Tensor(shape: [count * k, d], scalars: points),
                               targets: .classes(labels, classCount: k))
            }
            return (split(n, &trainGenerator, "train"), testN > 0 ? split(testN, &testGenerator, "test") : nil)
        }
    }
}

/// `count` evenly spaced values from `start` to `end` inclusive (`[start]` for one), computed as
/// `torch.linspace` does: the first half forward from `start`, the second half back from `end`.
func linspace(_ start: Double, _ end: Double, _ count: Int) -> [Double] {
    guard count > 1 else { return count == 1 ? [start] : [] }
    let step = (end - start) / Double(count - 1)
    return (0..<count).map { $0 < count / 2 ? start + Double($0) * step : end - Double(count - 1 - $0) * step }
}
