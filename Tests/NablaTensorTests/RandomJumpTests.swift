import XCTest
@testable import NablaTensor

/// `RandomGenerator.advance(by:)` against drawing one value at a time, and its polynomial against the
/// jump constants Blackman & Vigna publish with xoshiro256** (prng.di.unimi.it/xoshiro256starstar.c).
final class RandomJumpTests: XCTestCase {
    func testAdvanceEqualsDrawingThatManyValues() {
        var picker = RandomGenerator(seed: 99)
        let fixed: [UInt64] = [0, 1, 2, 3, 5, 63, 64, 65, 127, 128, 255, 256, 257, 511, 1000, 4096, 4097, 16_384, 20_011]
        let counts = fixed + (0..<12).map { _ in picker.next() % 30_000 }
        for (index, count) in counts.enumerated() {
            var stepped = RandomGenerator(seed: UInt64(index) &* 0x9E37_79B9 &+ 7), jumped = stepped
            for _ in 0..<count { _ = stepped.next() }
            jumped.advance(by: count)
            XCTAssertEqual(jumped, stepped, "advance(by: \(count))")
            XCTAssertEqual(jumped.next(), stepped.next(), "the draw after advance(by: \(count))")
        }
    }

    func testJumpsComposeAcrossLargeCounts() {
        let start = RandomGenerator(seed: 5)
        let a: UInt64 = (1 << 40) + 12_345, b: UInt64 = (1 << 52) + 999_999_937
        var twice = start, once = start
        twice.advance(by: a); twice.advance(by: b)
        once.advance(by: a + b)
        XCTAssertEqual(twice, once)
        XCTAssertNotEqual(once, start)
    }

    func testPolynomialGivesThePublishedJumpConstants() {
        let jump = GF2Residue(words: (0x180E_C6D3_3CFD_0ABA, 0xD5A6_1266_F0C9_392C, 0xA958_2618_E03F_C9AA, 0x39AB_DC45_29B1_661C))
        let longJump = GF2Residue(words: (0x76E1_5D3E_FEFD_CBBF, 0xC500_4E44_1C52_2FB3, 0x7771_0069_854E_E241, 0x3910_9BB0_2ACB_E635))
        XCTAssertEqual(xToTwoToThe(128), jump)
        XCTAssertEqual(xToTwoToThe(192), longJump)
        // The reference jump(), transcribed, moves a generator to the same state.
        var reference = RandomGenerator(seed: 17)
        var sum = (UInt64(0), UInt64(0), UInt64(0), UInt64(0))
        for word in [jump.words.0, jump.words.1, jump.words.2, jump.words.3] {
            for bit in 0..<64 {
                if word & (1 << UInt64(bit)) != 0 {
                    let s = reference.state
                    sum = (sum.0 ^ s.0, sum.1 ^ s.1, sum.2 ^ s.2, sum.3 ^ s.3)
                }
                _ = reference.next()
            }
        }
        reference.state = sum
        XCTAssertEqual(RandomGenerator(seed: 17).advanced(by: xToTwoToThe(128)), reference)
    }

    func testPowersAgreeWithRepeatedMultiplicationByX() {
        var stepwise = GF2Residue.one
        for k in 0..<600 {
            XCTAssertEqual(GF2Residue.power(of: UInt64(k)), stepwise, "x^\(k) mod P")
            stepwise = stepwise.timesX()
        }
        XCTAssertEqual(GF2Residue.power(of: 256), GF2Residue.modulus, "x^256 ≡ p(x) (mod P)")
    }

    /// `x^(2ᵉ) mod P` by `e` squarings of `x` (past the table's `2⁶³`).
    func xToTwoToThe(_ e: Int) -> GF2Residue {
        var result = GF2Residue.x
        for _ in 0..<e { result = result.times(result) }
        return result
    }
}
