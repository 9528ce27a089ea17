/// Jumping a ``RandomGenerator`` ahead by any number of draws in time independent of that number.
///
/// xoshiro256**'s state transition `s ↦ T·s` is linear over GF(2) (XORs, shifts and a rotation of the
/// four words; only the output is scrambled). `T` is a 256 × 256 bit matrix whose characteristic
/// polynomial `P(x)` has degree 256 and is primitive (the generator's period is `2²⁵⁶ − 1`). By
/// Cayley–Hamilton `P(T) = 0`, so with `r(x) = xᵏ mod P(x) = Σᵢ cᵢ·xⁱ`,
///
///     Tᵏ·s = r(T)·s = Σᵢ cᵢ·Tⁱ·s   (sum = XOR, i = 0 ..< 256)
///
/// — 256 steps of the generator from `s`, XOR-ing the states where `cᵢ = 1` (Haramoto, Matsumoto,
/// Nishimura, Panneton & L'Ecuyer 2008, "Efficient Jump Ahead for F₂-Linear Random Number Generators",
/// INFORMS J. Computing 20(3)). Blackman & Vigna's `jump()` is the case `k = 2¹²⁸`: their published
/// constants are `x^(2¹²⁸) mod P` (the tests check it). `r` is a product of the precomputed
/// `x^(2ʲ) mod P` over the set bits `j` of `k`, so a jump costs `popcount(k)` products of 256-bit
/// polynomials and 256 steps — microseconds, where drawing `k` values costs `k` steps.
///
/// This lets a long stream be drawn in parallel parts, each starting where the serial draw would be
/// at that point, with the same values as the serial draw on any number of threads.
extension RandomGenerator {
    /// Advances the generator exactly as `draws` calls of ``next()`` would, in time independent of
    /// `draws` (at most 64 polynomial products and 256 steps).
    public mutating func advance(by draws: UInt64) {
        self = advanced(by: GF2Residue.power(of: draws))
    }

    /// `r(T)·s` for the state `s` of this generator and `r(x) = Σᵢ cᵢ·xⁱ`: the state after
    /// `k` draws when `r = xᵏ mod P`.
    func advanced(by r: GF2Residue) -> RandomGenerator {
        var walker = self, sum = (UInt64(0), UInt64(0), UInt64(0), UInt64(0))
        for word in [r.words.0, r.words.1, r.words.2, r.words.3] {
            var bits = word
            for _ in 0..<64 {
                let take = 0 &- (bits & 1)   // all ones when cᵢ = 1
                sum.0 ^= walker.s0 & take; sum.1 ^= walker.s1 & take
                sum.2 ^= walker.s2 & take; sum.3 ^= walker.s3 & take
                bits >>= 1
                _ = walker.next()
            }
        }
        walker.state = sum
        return walker
    }
}

/// A polynomial over GF(2) of degree < 256 read modulo xoshiro256's characteristic polynomial
/// `P(x) = x²⁵⁶ + p(x)`: bit `i` of `words[i / 64]` is the coefficient of `xⁱ`.
struct GF2Residue: Equatable, Sendable {
    var words: (UInt64, UInt64, UInt64, UInt64)

    static func == (a: GF2Residue, b: GF2Residue) -> Bool { a.words == b.words }

    /// The low 256 coefficients `p(x)` of `P(x)`, found by Berlekamp–Massey from the generator's
    /// bit stream; `x^(2¹²⁸) mod P` and `x^(2¹⁹²) mod P` equal the reference `JUMP` and `LONG_JUMP`.
    static let modulus = GF2Residue(words: (0x9D11_6F2B_B0F0_F001, 0x0280_002B_CEFD_1A5E,
                                            0x04B4_EDCF_2625_9F85, 0x0003_C03C_3F3E_CB19))
    static let one = GF2Residue(words: (1, 0, 0, 0))
    static let x = GF2Residue(words: (2, 0, 0, 0))

    /// `x·self mod P`: a one-bit shift, then `p(x)` added when `x²⁵⁶` appears.
    func timesX() -> GF2Residue {
        let (a, b, c, d) = words
        let carry = 0 &- (d >> 63)
        let m = GF2Residue.modulus.words
        return GF2Residue(words: ((a << 1) ^ (m.0 & carry), ((b << 1) | (a >> 63)) ^ (m.1 & carry),
                                  ((c << 1) | (b >> 63)) ^ (m.2 & carry), ((d << 1) | (c >> 63)) ^ (m.3 & carry)))
    }

    /// `self·other mod P`, Horner's rule over `other`'s coefficients from the highest.
    func times(_ other: GF2Residue) -> GF2Residue {
        var result = GF2Residue(words: (0, 0, 0, 0))
        for word in [other.words.3, other.words.2, other.words.1, other.words.0] {
            for bit in stride(from: 63, through: 0, by: -1) {
                result = result.timesX()
                let take = 0 &- ((word >> UInt64(bit)) & 1)
                result.words.0 ^= words.0 & take; result.words.1 ^= words.1 & take
                result.words.2 ^= words.2 & take; result.words.3 ^= words.3 & take
            }
        }
        return result
    }

    /// `x^(2ʲ) mod P` for `j = 0 ..< 64`, computed once by repeated squaring.
    static let powersOfTwo: [GF2Residue] = {
        var table = [x]
        for _ in 1..<64 { table.append(table[table.count - 1].times(table[table.count - 1])) }
        return table
    }()

    /// `xᵏ mod P`: the product of `x^(2ʲ) mod P` over the set bits `j` of `k`.
    static func power(of k: UInt64) -> GF2Residue {
        var result: GF2Residue?, rest = k
        while rest != 0 {
            let j = rest.trailingZeroBitCount
            rest &= rest - 1
            result = result.map { $0.times(powersOfTwo[j]) } ?? powersOfTwo[j]
        }
        return result ?? one
    }
}
