/// A seedable, platform-independent pseudo-random generator: xoshiro256** (Blackman & Vigna, 2018),
/// seeded through SplitMix64. The same seed yields the same stream on every platform and Swift version,
/// which the system generator does not promise.
///
/// Every random API in Nabla takes a generator argument (`using:`), so runs are reproducible.
public struct RandomGenerator: RandomNumberGenerator, Sendable, Equatable, Codable {
    /// The four 64-bit words of generator state.
    public var state: (UInt64, UInt64, UInt64, UInt64) {
        get { (s0, s1, s2, s3) }
        set { (s0, s1, s2, s3) = newValue }
    }
    @usableFromInline var s0: UInt64, s1: UInt64, s2: UInt64, s3: UInt64

    /// Creates a generator from a seed.
    public init(seed: UInt64) {
        var x = seed
        func splitMix() -> UInt64 {
            x &+= 0x9E37_79B9_7F4A_7C15
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        s0 = splitMix(); s1 = splitMix(); s2 = splitMix(); s3 = splitMix()
    }

    @inlinable
    static func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    /// The next 64 random bits (xoshiro256**). Inlinable: dropout masks and augmentation draw one
    /// per element, from other modules.
    @inlinable
    public mutating func next() -> UInt64 {
        let result = RandomGenerator.rotl(s1 &* 5, 7) &* 9
        let t = s1 << 17
        s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3
        s2 ^= t
        s3 = RandomGenerator.rotl(s3, 45)
        return result
    }

    /// A uniform `Double` in `[0, 1)` with 53 random bits.
    @inlinable
    public mutating func nextUnit() -> Double { Double(next() >> 11) * 0x1.0p-53 }

    /// A standard normal variate (Box–Muller, using both uniforms freshly each call for reproducibility).
    @inlinable
    public mutating func nextNormal() -> Double {
        var u1 = nextUnit()
        while u1 <= 0 { u1 = nextUnit() }
        let u2 = nextUnit()
        return (-2 * _log(u1)).squareRoot() * _cos(2 * Double.pi * u2)
    }
}

#if canImport(Darwin)
import Darwin
#else
import Glibc
#endif
@usableFromInline func _log(_ x: Double) -> Double { log(x) }
@usableFromInline func _cos(_ x: Double) -> Double { cos(x) }

extension Tensor {
    /// Elements drawn uniformly from `[lower, upper)`.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public init(uniform shape: [Int], lower: Scalar = 0, upper: Scalar = 1, using generator: inout RandomGenerator) {
        let width = Double(upper - lower), low = Double(lower)
        self.init(shape: shape, scalars: (0..<shape.reduce(1, *)).map { _ in Scalar(low + width * generator.nextUnit()) })
    }

    /// Elements drawn from a normal distribution `N(mean, std²)`.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public init(normal shape: [Int], mean: Scalar = 0, standardDeviation: Scalar = 1, using generator: inout RandomGenerator) {
        let m = Double(mean), s = Double(standardDeviation)
        self.init(shape: shape, scalars: (0..<shape.reduce(1, *)).map { _ in Scalar(m + s * generator.nextNormal()) })
    }

    /// Elements that are 1 with probability `probability` and 0 otherwise.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public init(bernoulli shape: [Int], probability: Double, using generator: inout RandomGenerator) {
        self.init(shape: shape, scalars: (0..<shape.reduce(1, *)).map { _ in generator.nextUnit() < probability ? 1 : 0 })
    }
}

extension Array {
    /// The elements in a random order (Fisher–Yates) driven by a ``RandomGenerator``.
    public func shuffled(using generator: inout RandomGenerator) -> [Element] {
        var copy = self
        if copy.count < 2 { return copy }
        for i in stride(from: copy.count - 1, to: 0, by: -1) {
            let j = Int(generator.next(upperBound: UInt64(i + 1)))
            copy.swapAt(i, j)
        }
        return copy
    }
}
