import NablaTensor

/// The lane permutations of the direct kernels' vectors: the perfect unshuffle of two vectors, the
/// square transposition it builds, and a store of a vector's first lanes.
///
/// The unshuffle of `a ‖ b` (`2L` lanes) puts its even lanes in the first vector and its odd lanes in
/// the second — one two-source permute (`vpermi2ps` on AVX-512) for each. On `L` vectors of an `L × L`
/// block held as one array of `L²` values, an unshuffle of every pair moves value `i` to
/// `(i ≫ 1) + (i & 1)·L²/2`: a rotation of the index's `2·log₂L` bits by one. `log₂L` of them rotate
/// the row bits and the column bits past each other: the transposition, `4·16` permutes for a 16 × 16
/// block of Floats against 256 scalar loads and stores.
protocol LanePermutable: SIMD {
    /// The even lanes of `a ‖ b`, then its odd lanes.
    static func unshuffle(_ a: Self, _ b: Self) -> (even: Self, odd: Self)
    /// The inverse of ``unshuffle(_:_:)``: `e0 o0 e1 o1 …`, its first `L` lanes and its last `L`.
    static func interleave(_ even: Self, _ odd: Self) -> (low: Self, high: Self)
    /// `L/2` values from `low`, then `L/2` from `high`.
    static func load(halves low: UnsafePointer<Scalar>, _ high: UnsafePointer<Scalar>) -> Self
    /// `L/4` values from each of `q0`, `q1`, `q2`, `q3`, in that order (`L ≥ 4`).
    static func load(quarters q0: UnsafePointer<Scalar>, _ q1: UnsafePointer<Scalar>, _ q2: UnsafePointer<Scalar>,
                     _ q3: UnsafePointer<Scalar>) -> Self
    /// Writes the first `count` (`0 ≤ count ≤ L/2`) lanes of each half of `v`: the lower half to `low`,
    /// the upper to `high`.
    static func storeHalves(_ v: Self, prefix count: Int, low: UnsafeMutablePointer<Scalar>, high: UnsafeMutablePointer<Scalar>)
    /// Writes lanes `0..<count` of `v` (`0 ≤ count ≤ L`) to `target[0..<count]`, nothing else.
    static func store(_ v: Self, prefix count: Int, to target: UnsafeMutablePointer<Scalar>)
}

extension SIMD16: LanePermutable where Scalar == Float {
    @inline(__always)
    static func unshuffle(_ a: Self, _ b: Self) -> (even: Self, odd: Self) {
        (Self(lowHalf: a.evenHalf, highHalf: b.evenHalf), Self(lowHalf: a.oddHalf, highHalf: b.oddHalf))
    }

    @inline(__always)
    static func interleave(_ even: Self, _ odd: Self) -> (low: Self, high: Self) {
        let low = SIMD8.interleave(even.lowHalf, odd.lowHalf), high = SIMD8.interleave(even.highHalf, odd.highHalf)
        return (Self(lowHalf: low.low, highHalf: low.high), Self(lowHalf: high.low, highHalf: high.high))
    }

    @inline(__always)
    static func load(halves low: UnsafePointer<Scalar>, _ high: UnsafePointer<Scalar>) -> Self {
        Self(lowHalf: loadVector(low), highHalf: loadVector(high))
    }

    @inline(__always)
    static func load(quarters q0: UnsafePointer<Scalar>, _ q1: UnsafePointer<Scalar>, _ q2: UnsafePointer<Scalar>,
                     _ q3: UnsafePointer<Scalar>) -> Self {
        Self(lowHalf: SIMD8(lowHalf: loadVector(q0), highHalf: loadVector(q1)),
             highHalf: SIMD8(lowHalf: loadVector(q2), highHalf: loadVector(q3)))
    }

    @inline(__always)
    static func storeHalves(_ v: Self, prefix count: Int, low: UnsafeMutablePointer<Scalar>, high: UnsafeMutablePointer<Scalar>) {
        SIMD8.store(v.lowHalf, prefix: count, to: low); SIMD8.store(v.highHalf, prefix: count, to: high)
    }

    @inline(__always)
    static func store(_ v: Self, prefix count: Int, to target: UnsafeMutablePointer<Scalar>) {
        if count >= 16 { return storeVector(v, target) }
        if count < 8 { return SIMD8.store(v.lowHalf, prefix: count, to: target) }
        storeVector(v.lowHalf, target)
        SIMD8.store(v.highHalf, prefix: count &- 8, to: target + 8)
    }
}

extension SIMD8: LanePermutable where Scalar: TensorScalar {
    @inline(__always)
    static func unshuffle(_ a: Self, _ b: Self) -> (even: Self, odd: Self) {
        (Self(lowHalf: a.evenHalf, highHalf: b.evenHalf), Self(lowHalf: a.oddHalf, highHalf: b.oddHalf))
    }

    @inline(__always)
    static func interleave(_ even: Self, _ odd: Self) -> (low: Self, high: Self) {
        let low = SIMD4.interleave(even.lowHalf, odd.lowHalf), high = SIMD4.interleave(even.highHalf, odd.highHalf)
        return (Self(lowHalf: low.low, highHalf: low.high), Self(lowHalf: high.low, highHalf: high.high))
    }

    @inline(__always)
    static func load(halves low: UnsafePointer<Scalar>, _ high: UnsafePointer<Scalar>) -> Self {
        Self(lowHalf: loadVector(low), highHalf: loadVector(high))
    }

    @inline(__always)
    static func load(quarters q0: UnsafePointer<Scalar>, _ q1: UnsafePointer<Scalar>, _ q2: UnsafePointer<Scalar>,
                     _ q3: UnsafePointer<Scalar>) -> Self {
        Self(lowHalf: SIMD4(lowHalf: loadVector(q0), highHalf: loadVector(q1)),
             highHalf: SIMD4(lowHalf: loadVector(q2), highHalf: loadVector(q3)))
    }

    @inline(__always)
    static func storeHalves(_ v: Self, prefix count: Int, low: UnsafeMutablePointer<Scalar>, high: UnsafeMutablePointer<Scalar>) {
        SIMD4.store(v.lowHalf, prefix: count, to: low); SIMD4.store(v.highHalf, prefix: count, to: high)
    }

    @inline(__always)
    static func store(_ v: Self, prefix count: Int, to target: UnsafeMutablePointer<Scalar>) {
        if count >= 8 { return storeVector(v, target) }
        if count < 4 { return SIMD4.store(v.lowHalf, prefix: count, to: target) }
        storeVector(v.lowHalf, target)
        SIMD4.store(v.highHalf, prefix: count &- 4, to: target + 4)
    }
}

extension SIMD4: LanePermutable where Scalar: TensorScalar {
    @inline(__always)
    static func unshuffle(_ a: Self, _ b: Self) -> (even: Self, odd: Self) {
        (Self(lowHalf: a.evenHalf, highHalf: b.evenHalf), Self(lowHalf: a.oddHalf, highHalf: b.oddHalf))
    }

    @inline(__always)
    static func interleave(_ even: Self, _ odd: Self) -> (low: Self, high: Self) {
        (Self(even[0], odd[0], even[1], odd[1]), Self(even[2], odd[2], even[3], odd[3]))
    }

    @inline(__always)
    static func load(halves low: UnsafePointer<Scalar>, _ high: UnsafePointer<Scalar>) -> Self {
        Self(low[0], low[1], high[0], high[1])
    }

    @inline(__always)
    static func load(quarters q0: UnsafePointer<Scalar>, _ q1: UnsafePointer<Scalar>, _ q2: UnsafePointer<Scalar>,
                     _ q3: UnsafePointer<Scalar>) -> Self {
        Self(q0[0], q1[0], q2[0], q3[0])
    }

    @inline(__always)
    static func storeHalves(_ v: Self, prefix count: Int, low: UnsafeMutablePointer<Scalar>, high: UnsafeMutablePointer<Scalar>) {
        for l in 0..<Swift.min(2, Swift.max(0, count)) { low[l] = v[l]; high[l] = v[2 &+ l] }
    }

    @inline(__always)
    static func store(_ v: Self, prefix count: Int, to target: UnsafeMutablePointer<Scalar>) {
        if count >= 4 { return storeVector(v, target) }
        for l in 0..<Swift.max(0, count) { target[l] = v[l] }
    }
}

extension SIMD2: LanePermutable where Scalar == Double {
    @inline(__always)
    static func unshuffle(_ a: Self, _ b: Self) -> (even: Self, odd: Self) {
        (Self(a[0], b[0]), Self(a[1], b[1]))
    }

    @inline(__always)
    static func interleave(_ even: Self, _ odd: Self) -> (low: Self, high: Self) {
        (Self(even[0], odd[0]), Self(even[1], odd[1]))
    }

    @inline(__always)
    static func load(halves low: UnsafePointer<Scalar>, _ high: UnsafePointer<Scalar>) -> Self {
        Self(low[0], high[0])
    }

    /// Two lanes have no quarters: no caller packs four tile rows into a 2-lane vector
    /// (``WinogradShape/tileRowsPerVector(lanes:)`` needs `4·columns = L`).
    @inline(__always)
    static func load(quarters q0: UnsafePointer<Scalar>, _ q1: UnsafePointer<Scalar>, _ q2: UnsafePointer<Scalar>,
                     _ q3: UnsafePointer<Scalar>) -> Self {
        preconditionFailure("load(quarters:) on a 2-lane vector")
    }

    @inline(__always)
    static func storeHalves(_ v: Self, prefix count: Int, low: UnsafeMutablePointer<Scalar>, high: UnsafeMutablePointer<Scalar>) {
        if count >= 1 { low[0] = v[0]; high[0] = v[1] }
    }

    @inline(__always)
    static func store(_ v: Self, prefix count: Int, to target: UnsafeMutablePointer<Scalar>) {
        if count >= 2 { return storeVector(v, target) }
        if count == 1 { target[0] = v[0] }
    }
}

extension LanePermutable {
    /// Transposes the `L × L` block `rows[0..<L]` in place (`rows[i][j] ← rows[j][i]`) by `log₂L` rounds
    /// of unshuffles (see ``LanePermutable``); `scratch` holds `L` more vectors.
    @inline(__always)
    static func transposeSquare(_ rows: UnsafeMutablePointer<Self>, scratch: UnsafeMutablePointer<Self>) {
        let lanes = scalarCount, half = lanes / 2
        var from = rows, to = scratch, width = 1
        while width < lanes {
            for k in 0..<half {
                let (even, odd) = unshuffle(from[2 &* k], from[2 &* k &+ 1])
                to[k] = even
                to[k &+ half] = odd
            }
            swap(&from, &to)
            width &<<= 1
        }
        if from != rows { rows.update(from: from, count: lanes) }
    }
}
