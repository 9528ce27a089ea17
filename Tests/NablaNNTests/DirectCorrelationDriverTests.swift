import XCTest
@testable import NablaTensor
@testable import NablaNN

/// The direct correlation's driver (``DirectCorrelation``) on its own, with a tile that writes what
/// it was asked to compute instead of a sum: every output element is written, by the channel block
/// and row that own it, whether the tiles write in place, through the tile buffer (a partial
/// channel block, a last vector past the plane) or on the staging grid; and every tile sums the kernel
/// rows its output rows reach, as ``DirectConvolutionLayout/kernelRows(reaching:)`` says.
final class DirectCorrelationDriverTests: XCTestCase {
    /// Writes, for each of its `mr × nv` vectors, `channel · 1000 + kCount` in every lane (the channel
    /// `block · mr + m`) — or NaN if its `taps` are not the layout's tap offsets from `kStart` on, nor
    /// (packed row tails) the tail copy's.
    private struct LabellingTile: DirectCorrelationTile {
        var mr: Int, nv: Int, lanes: Int
        var expectedTaps: UnsafePointer<Int>
        var expectedTailTaps: UnsafePointer<Int>?
        var shape: (mr: Int, nv: Int) { (mr, nv) }

        func compute(block: Int, kStart: Int, kCount: Int, taps: UnsafePointer<Int>, input: UnsafePointer<Float>,
                     inputOffsets: UnsafePointer<Int>, output: UnsafeMutablePointer<Float>,
                     outputOffsets: UnsafePointer<Int>, ldc: Int) {
            func matches(_ expected: UnsafePointer<Int>) -> Bool { (0..<kCount).allSatisfy { taps[$0] == expected[kStart + $0] } }
            let tapsRight = matches(expectedTaps) || expectedTailTaps.map(matches) == true
            for m in 0..<mr {
                for v in 0..<nv {
                    for lane in 0..<lanes {
                        output[outputOffsets[v] + m * ldc + lane] = tapsRight ? Float((block * mr + m) * 1000 + kCount) : .nan
                    }
                }
            }
        }
    }

    /// (shape, tile): packed row tails (``PackedRowTails``: LeNet's 28- and 10-wide layers on 8 lanes, a
    /// last tail vector with fewer rows, dilation), in place with whole blocks (a 32-wide padded grid whose
    /// 5-column tails do not divide 8 lanes), in place with a partial last block (through the tile
    /// buffer), staged on the padded grid (rows that are not whole vectors), padding whose kernel rows
    /// reach past the input.
    private static let cases: [(DirectConvolutionTests.Shape, (mr: Int, nv: Int))] = [
        ((1, 6, 28, 28, (5, 5), (2, 2), (1, 1), 3), (6, 2)),
        ((1, 6, 28, 28, (5, 5), (2, 2), (1, 1), 2), (4, 3)),
        ((2, 7, 5, 12, (3, 3), (1, 1), (1, 1), 3), (4, 3)),
        ((1, 5, 7, 10, (3, 3), (2, 2), (2, 2), 2), (3, 4)),
        ((1, 5, 4, 28, (3, 4), (1, 2), (1, 1), 2), (6, 2)),
        ((3, 32, 8, 8, (3, 3), (1, 1), (1, 1), 2), (4, 3)),
        ((2, 7, 9, 11, (3, 3), (1, 1), (1, 1), 3), (3, 4)),
        ((6, 16, 14, 14, (5, 5), (0, 0), (1, 1), 2), (6, 2)),
        ((1, 5, 5, 13, (3, 3), (2, 0), (1, 1), 4), (4, 3)),
    ]

    /// The cases cover each way the driver writes on 8 lanes: packed tails, flat in place, staged.
    func testCasesCoverEveryWayOfWriting() {
        let layouts = Self.cases.map { DirectConvolutionLayout(forward: DirectConvolutionTests.geometry($0.0), lanes: 8) }
        let packed = layouts.filter { PackedRowTails($0) != nil }.count
        let flatInPlace = layouts.filter { PackedRowTails($0) == nil && !$0.isRowMode && $0.writesInPlace }.count
        let staged = layouts.filter { PackedRowTails($0) == nil && !$0.writesInPlace }.count
        XCTAssertEqual([packed, flatInPlace, staged], [5, 1, 2])
    }

    func testEveryOutputIsWrittenByItsChannelWithTheTapsItsRowsReach() {
        for (shape, tile) in Self.cases {
            for lanes in [4, 8] {
                for workers in [1, 2, 3] {
                    check(shape, tile: tile, lanes: lanes, workers: workers)
                }
            }
        }
    }

    private func check(_ shape: DirectConvolutionTests.Shape, tile: (mr: Int, nv: Int), lanes: Int, workers: Int) {
        let g = DirectConvolutionTests.geometry(shape)
        let layout = DirectConvolutionLayout(forward: g, lanes: lanes)
        let label = "\(shape) tile \(tile) lanes \(lanes) workers \(workers)"
        guard layout.isValid else { return XCTFail("invalid layout: \(label)") }
        let input = [Float](repeating: 1, count: g.batch * g.inChannels * g.inPlane)
        var output = [Float](repeating: .nan, count: g.batch * g.outChannels * g.outPlane)
        let driver = DirectCorrelation<Float, Float>(layout: layout, outChannels: g.outChannels, tile: tile)
        var taps = [Int](repeating: 0, count: layout.depth), tailTaps = taps
        taps.withUnsafeMutableBufferPointer { layout.writeTapOffsets($0.baseAddress!, kernelRowMajor: true) }
        let packing = PackedRowTails(layout)
        tailTaps.withUnsafeMutableBufferPointer { packing?.writeTapOffsets($0.baseAddress!) }
        taps.withUnsafeBufferPointer { expected in
            tailTaps.withUnsafeBufferPointer { expectedTails in
                input.withUnsafeBufferPointer { x in
                    output.withUnsafeMutableBufferPointer { y in
                        let tile = LabellingTile(mr: tile.mr, nv: tile.nv, lanes: lanes, expectedTaps: expected.baseAddress!,
                                                 expectedTailTaps: packing == nil ? nil : expectedTails.baseAddress!)
                        driver.run(batch: g.batch, input: x.baseAddress!, inputSample: g.inChannels * g.inPlane,
                                   output: y.baseAddress!, workers: workers, workspace: ConvolutionWorkspace(),
                                   interiorOnly: true, pad: { layout.copyInterior($0, into: $1) }, kernel: tile)
                    }
                }
            }
        }
        let tapsPerRow = layout.channels * layout.kernelWidth
        for n in 0..<g.batch {
            for o in 0..<g.outChannels {
                for oh in 0..<layout.outHeight {
                    let reached = layout.kernelRows(reaching: (oh, oh)).count * tapsPerRow
                    for ow in 0..<layout.outWidth {
                        let value = output[((n * g.outChannels + o) * layout.outHeight + oh) * layout.outWidth + ow]
                        let kCount = value.isFinite ? Int(value) - o * 1000 : -1
                        // A vector spans rows in flat mode; its tile sums the rows any of them reach.
                        guard kCount >= reached, kCount <= layout.depth else {
                            return XCTFail("\(label): y[\(n), \(o), \(oh), \(ow)] = \(value), channel \(o) reaching \(reached) taps")
                        }
                    }
                }
            }
        }
    }
}
