import XCTest
@testable import NablaTensor
@testable import NablaNN

/// ``PackedRowTails``: where flat-mode layouts pack their rows' tails, what the tail copy holds, and
/// that a tail tap's offset reads the element the padded grid holds for every lane.
final class PackedRowTailsTests: XCTestCase {
    private func layout(_ shape: DirectConvolutionTests.Shape, lanes: Int) -> DirectConvolutionLayout {
        DirectConvolutionLayout(forward: DirectConvolutionTests.geometry(shape), lanes: lanes)
    }

    func testPacksWhereTheTailDividesAVectorAndSavesVectors() throws {
        // LeNet's 1→6 on 8 lanes: 28 rows of 3 whole vectors, and 14 vectors of two 4-pixel tails,
        // against flat mode's 112 vectors (32 lanes per row).
        let lenet = try XCTUnwrap(PackedRowTails(layout((1, 6, 28, 28, (5, 5), (2, 2), (1, 1), 1), lanes: 8)))
        XCTAssertEqual([lenet.tailWidth, lenet.rowsPerVector, lenet.headVectors, lenet.tailVectors], [4, 2, 84, 14])
        XCTAssertEqual(lenet.layout.vectorCount, 112)
        // What the cost models count: heads and tails, each rounded up to whole groups of a tile's vectors.
        XCTAssertEqual(lenet.layout.computedVectorCount, 98)
        XCTAssertEqual([2, 3, 4].map { lenet.layout.computedVectors(groupsOf: $0) }, [98, 84 + 15, 84 + 16])
        let flat = layout((2, 7, 9, 11, (3, 3), (1, 1), (1, 1), 1), lanes: 8)
        XCTAssertEqual([flat.vectorCount, flat.computedVectorCount, flat.computedVectors(groupsOf: 4)], [15, 15, 16])
        // 6→16 (10-wide rows): 2-pixel tails, four rows per vector, the last vector two rows.
        let second = try XCTUnwrap(PackedRowTails(layout((6, 16, 14, 14, (5, 5), (0, 0), (1, 1), 1), lanes: 8)))
        XCTAssertEqual([second.tailWidth, second.rowsPerVector, second.vectorCount], [2, 4, 13])
        XCTAssertEqual(second.tail(2).rows, 2)
        XCTAssertEqual(second.tailRows(ofVectors: 1, 2).first, 4)
        XCTAssertEqual(second.tailRows(ofVectors: 1, 2).last, 9)
        // Row mode; a tail that does not divide the vector (28 on 16 lanes: 12); no vector saved (4-wide
        // rows on 8 lanes: the flat grid is 2 vectors, as are the packed tails).
        XCTAssertNil(PackedRowTails(layout((1, 6, 28, 28, (5, 5), (2, 2), (1, 1), 1), lanes: 4)))
        XCTAssertNil(PackedRowTails(layout((1, 6, 28, 28, (5, 5), (2, 2), (1, 1), 1), lanes: 16)))
        XCTAssertNil(PackedRowTails(layout((16, 8, 3, 4, (1, 1), (0, 0), (1, 1), 1), lanes: 8)))
    }

    /// Every lane of every tail vector, through every tap: the tail copy at the tap's offset plus the
    /// vector's holds the padded element that output's tap reads (`c·Hp·Wp + (oh + i·dH)·Wp + ow + j·dW`),
    /// for a multi-channel, dilated layout with a last vector of fewer rows.
    func testTailTapsReadWhatThePaddedGridHolds() throws {
        for lanes in [4, 8] {
            let layout = layout((3, 2, 7, 10, (3, 3), (2, 2), (2, 2), 1), lanes: lanes)
            let packing = try XCTUnwrap(PackedRowTails(layout), "lanes \(lanes)")
            // Distinct values everywhere, padding included, so a wrong offset cannot read a right value.
            let padded = (0..<layout.paddedSampleCount).map(Float.init)
            var tails = [Float](repeating: -1, count: packing.bufferCount)
            padded.withUnsafeBufferPointer { source in
                tails.withUnsafeMutableBufferPointer { packing.copyTails(source.baseAddress!, into: $0.baseAddress!) }
            }
            var taps = [Int](repeating: 0, count: layout.depth)
            taps.withUnsafeMutableBufferPointer { packing.writeTapOffsets($0.baseAddress!) }
            let (t, kW, channels) = (packing.tailWidth, layout.kernelWidth, layout.channels)
            for v in 0..<packing.tailVectors {
                let vector = packing.tail(v)
                for lane in 0..<(vector.rows * t) {
                    let oh = v * packing.rowsPerVector + lane / t, ow = layout.outWidth - t + lane % t
                    XCTAssertEqual(vector.output + (lane / t) * layout.outWidth + lane % t, oh * layout.outWidth + ow)
                    for i in 0..<layout.kernelHeight {
                        for c in 0..<channels {
                            for j in 0..<kW {
                                let expected = padded[c * layout.paddedPlane + (oh + i * layout.dilationHeight) * layout.paddedWidth
                                                      + ow + j * layout.dilationWidth]
                                XCTAssertEqual(tails[taps[(i * channels + c) * kW + j] + vector.input + lane], expected,
                                               "lanes \(lanes) vector \(v) lane \(lane) tap (\(c), \(i), \(j))")
                            }
                        }
                    }
                }
            }
            // Head vectors read and write whole vectors inside their row.
            for v in 0..<packing.headVectors {
                let head = packing.head(v), row = v / packing.headsPerRow
                XCTAssertEqual(head.input - row * layout.paddedWidth, head.output - row * layout.outWidth)
                XCTAssertLessThanOrEqual(head.output - row * layout.outWidth + lanes, layout.outWidth - t)
                XCTAssertEqual(head.valid, lanes)
                XCTAssertEqual(packing.headRows(ofVectors: v, v).first, row)
            }
        }
    }
}
