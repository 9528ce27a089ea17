import XCTest
@testable import NablaTensor
@testable import NablaNN

/// The register tiles' runs of groups (``DirectCorrelationTile/computeGroups(block:kStart:kCount:taps:input:groups:stride:count:output:ldc:prefetch:)``):
/// for every ``BroadcastKernel`` shape, on 2- and 4-lane vectors, a run of groups — each with its own
/// input and output offsets, `stride` apart in the table — must write exactly what one call per group
/// writes, and that must be the sum `bias[o] + Σ_k W[o][k]·input[inputOffset + tap(k) + lane]` over the
/// run's taps, in tap order with one fused multiply-add each: the same bits.
final class DirectTileRunTests: XCTestCase {
    private static let shapes: [(mr: Int, nv: Int)] = [(6, 2), (4, 3), (3, 4), (8, 3), (6, 4), (3, 8)]

    func testRunsOfEveryTileShapeWriteWhatOneCallPerGroupWrites() {
        var generator = RandomGenerator(seed: 46)
        for shape in Self.shapes {
            for withBias in [true, false] {
                for prefetch in [true, false] {
                    check(shape, SIMD2<Double>.self, bias: withBias, prefetch: prefetch, using: &generator)
                    check(shape, SIMD4<Double>.self, bias: withBias, prefetch: prefetch, using: &generator)
                }
            }
        }
    }

    private func check<V: DirectVector>(_ shape: (mr: Int, nv: Int), _: V.Type, bias withBias: Bool, prefetch: Bool,
                                        using generator: inout RandomGenerator) where V.Scalar == Double {
        let (mr, nv) = shape, lanes = V.scalarCount
        let label = "tile \(mr)×\(nv), \(lanes) lanes, bias \(withBias), prefetch \(prefetch)"
        let depth = 9, blocks = 2, groups = 5, stride = 3 * nv + 2
        let (block, kStart, kCount) = (1, 2, 6)
        let inputCount = 64 + lanes
        let input = (0..<inputCount).map { _ in Double.random(in: -1...1, using: &generator) }
        let weights = (0..<blocks * depth * mr).map { _ in Double.random(in: -1...1, using: &generator) }
        let bias = (0..<blocks * mr).map { _ in Double.random(in: -1...1, using: &generator) }
        // Taps and input offsets keep every read inside `input`; each group writes its own `nv` vectors of
        // each of the `mr` rows, `ldc` apart.
        let taps = (0..<depth).map { _ in Int.random(in: 0..<32, using: &generator) }
        let ldc = groups * nv * lanes + 3
        var table = [Int](repeating: -1, count: groups * stride)
        for g in 0..<groups {
            for v in 0..<nv {
                table[g * stride + v] = Int.random(in: 0..<32, using: &generator)
                table[g * stride + nv + v] = (g * nv + v) * lanes
            }
        }
        var run = [Double](repeating: .nan, count: mr * ldc), oneByOne = run
        weights.withUnsafeBufferPointer { w in
            bias.withUnsafeBufferPointer { b in
                let tile = BroadcastTile<V>(shape: shape, depth: depth, packedWeights: w.baseAddress!,
                                            bias: withBias ? b.baseAddress! : nil)
                taps.withUnsafeBufferPointer { t in
                    input.withUnsafeBufferPointer { x in
                        table.withUnsafeBufferPointer { entries in
                            run.withUnsafeMutableBufferPointer { out in
                                tile.computeGroups(block: block, kStart: kStart, kCount: kCount, taps: t.baseAddress! + kStart,
                                                   input: x.baseAddress!, groups: entries.baseAddress!, stride: stride,
                                                   count: groups, output: out.baseAddress!, ldc: ldc, prefetch: prefetch)
                            }
                            oneByOne.withUnsafeMutableBufferPointer { out in
                                tile.computeGroupsOneByOne(block: block, kStart: kStart, kCount: kCount,
                                                           taps: t.baseAddress! + kStart, input: x.baseAddress!,
                                                           groups: entries.baseAddress!, stride: stride, count: groups,
                                                           output: out.baseAddress!, ldc: ldc, prefetch: prefetch)
                            }
                        }
                    }
                }
            }
        }
        var mismatches = 0
        for g in 0..<groups {
            for v in 0..<nv {
                let inputOffset = table[g * stride + v], outputOffset = table[g * stride + nv + v]
                for m in 0..<mr {
                    for lane in 0..<lanes {
                        var expected = withBias ? bias[block * mr + m] : 0
                        for k in kStart..<kStart + kCount {
                            expected = expected.addingProduct(weights[(block * depth + k) * mr + m],
                                                              input[inputOffset + taps[k] + lane])
                        }
                        let index = m * ldc + outputOffset + lane
                        if run[index].bitPattern != expected.bitPattern || oneByOne[index].bitPattern != expected.bitPattern {
                            mismatches += 1
                        }
                    }
                }
            }
        }
        XCTAssertEqual(mismatches, 0, label)
        // Nothing outside the groups' vectors is written: the three columns past them in each row stay NaN.
        for m in 0..<mr {
            for column in groups * nv * lanes..<ldc {
                XCTAssertTrue(run[m * ldc + column].isNaN && oneByOne[m * ldc + column].isNaN, label)
            }
        }
    }
}
