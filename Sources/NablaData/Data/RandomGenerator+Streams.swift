import NablaTensor

extension RandomGenerator {
    /// An independent generator for stream `(a, b)` of `seed`: the seed and both indices are mixed
    /// through SplitMix64's finalizer (Steele, Lea & Flood, "Fast splittable pseudorandom number
    /// generators", OOPSLA 2014), so nearby seeds, epochs and batch indices yield unrelated streams,
    /// and the stream depends on nothing but these three numbers.
    ///
    /// The data pipeline uses it for reproducible, resumable randomness: the shuffle of epoch `e` is
    /// stream `(e, 0)` and the augmentation of batch `b` of epoch `e` is stream `(e, b + 1)` of a
    /// loader's seed, so any epoch or batch can be regenerated without replaying earlier ones.
    public init(seed: UInt64, stream a: UInt64, _ b: UInt64 = 0) {
        func mix(_ x: UInt64) -> UInt64 {
            var z = x &+ 0x9E37_79B9_7F4A_7C15
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        self.init(seed: mix(mix(mix(seed) ^ a) ^ (b &* 0xD6E8_FEB8_6659_FD93)))
    }
}

extension RandomGenerator {
    /// The seed replica `rank` of a data-parallel job derives its own random streams from (its
    /// augmentation, its dropout masks): stream `(0x7265706C, rank)` of `seed` ("repl"). Replicas
    /// must not share streams — `K` replicas drawing the same masks for different samples would
    /// correlate them — and each replica's streams depend on `(seed, rank)` alone.
    public static func replicaSeed(_ seed: UInt64, rank: Int) -> UInt64 {
        precondition(rank >= 0, "RandomGenerator.replicaSeed: rank \(rank) must be non-negative")
        var generator = RandomGenerator(seed: seed, stream: 0x7265_706C, UInt64(rank))
        return generator.next()
    }
}
