import XCTest
@testable import NablaTensor
@testable import NablaIO
@testable import NablaNN
import NablaTestSupport

/// Specialized kernels agree with the plain definitions, including ties and NaN.
final class FastPathTests: XCTestCase {
    func testMaxPool2x2MatchesTheDefinitionWithTiesAndNaN() {
        // Widths whose outputs take the 8-wide, 4-wide and one-window paths: 4, 11 = 8 + 3, 14 = 8 + 4 + 2, 5 = 4 + 1.
        for (height, width) in [(6, 8), (4, 22), (4, 28), (10, 10)] {
            assertMaxPool2x2MatchesTheDefinition(height: height, width: width)
        }
    }

    func assertMaxPool2x2MatchesTheDefinition(height: Int, width: Int, file: StaticString = #filePath, line: UInt = #line) {
        var g = RandomGenerator(seed: 3)
        let plane = height * width, outHeight = height / 2, outWidth = width / 2, outPlane = outHeight * outWidth
        // Small integers make ties common; NaNs in some windows (two in one) exercise propagation.
        var x = Tensor<Float>(shape: [2, 3, height, width]) { out in
            for i in 0..<out.count { out[i] = Float(g.next(upperBound: 4 as UInt64)) }
        }
        for i in [5, 16, 17, width + 9, plane + 2 * width + 3, 5 * plane - 1] { x.scalars[i] = .nan }
        let input = Variable(x, requiresGradient: true)
        let y = maxPool2d(input, kernelSize: (2, 2))
        XCTAssertEqual(y.shape, [2, 3, outHeight, outWidth], file: file, line: line)
        var upstream = Tensor<Float>(zeros: y.shape)
        for i in 0..<upstream.count { upstream.scalars[i] = Float(i + 1) }
        y.backward(seed: upstream)
        var expectedGrad = [Float](repeating: 0, count: x.count)
        for p in 0..<6 {
            for oh in 0..<outHeight {
                for ow in 0..<outWidth {
                    let taps = [(2 * oh, 2 * ow), (2 * oh, 2 * ow + 1), (2 * oh + 1, 2 * ow), (2 * oh + 1, 2 * ow + 1)]
                        .map { p * plane + $0.0 * width + $0.1 }
                    var best = -Float.infinity, index = taps[0]
                    for t in taps where x.scalars[t] > best { best = x.scalars[t]; index = t }
                    for t in taps where x.scalars[t].isNaN { best = x.scalars[t]; index = t }   // last NaN wins
                    let o = p * outPlane + oh * outWidth + ow
                    if best.isNaN {
                        XCTAssertTrue(y.value.scalars[o].isNaN, "\(height)×\(width) at \(o)", file: file, line: line)
                    } else {
                        XCTAssertEqual(y.value.scalars[o], best, "\(height)×\(width) at \(o)", file: file, line: line)
                    }
                    expectedGrad[index] += upstream.scalars[o]
                }
            }
        }
        XCTAssertEqual(input.grad!.scalars, expectedGrad, "\(height)×\(width)", file: file, line: line)
    }

    func testReluSplitOverThreadsIsTheDefinition() {
        let savedThreads = Parallelism.threadCount
        defer { Parallelism.setThreadCount(savedThreads) }
        var g = RandomGenerator(seed: 8)
        var x = Tensor<Float>(normal: [3, 40_001], using: &g)
        x.scalars[5] = -0.0; x.scalars[70_000] = .infinity
        for threads in [1, 2, 3] {
            Parallelism.setThreadCount(threads)
            let y = Variable(x).relu().value.scalars
            XCTAssertNil(y.indices.first { y[$0].bitPattern != Swift.max(x.scalars[$0], 0).bitPattern }, "\(threads) threads")
        }
    }

    func testReluBackwardRoutesExactlyWherePositive() {
        let x = Variable(Tensor<Float>([-2, -0.0, 0, 1e-30, 3]), requiresGradient: true)
        let y = x.relu()
        XCTAssertEqual(y.value.scalars, [0, 0, 0, 1e-30, 3])
        y.backward(seed: Tensor([1, 2, 3, 4, 5]))
        XCTAssertEqual(x.grad!.scalars, [0, 0, 0, 4, 5])
    }
}

extension FastPathTests {
    /// Applies under glibc's allocator; a sanitizer's allocator (ASan, TSan) replaces `mallopt` and refuses.
    func testAllocatorTuningAppliesUnderGlibcMalloc() throws {
        #if os(Linux)
        let sanitized = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "__sanitizer_print_stack_trace") != nil
        try XCTSkipIf(sanitized, "NOTICE: a sanitizer's allocator is in use; mallopt does not apply")
        XCTAssertTrue(AllocatorTuning.keepFreedMemoryForReuse(), "mallopt refused the training allocator settings")
        #endif
    }
}

extension FastPathTests {
    /// im2col and col2im against their definitions over geometries that take every path: "same"
    /// padding (one long copy per tap), padding wider than the kernel reach, strides, dilations.
    func testIm2ColAndCol2ImMatchTheirDefinitions() {
        var generator = RandomGenerator(seed: 5)
        let cases: [(c: Int, h: Int, w: Int, k: (Int, Int), s: (Int, Int), p: (Int, Int), d: (Int, Int))] = [
            (2, 7, 9, (3, 3), (1, 1), (1, 1), (1, 1)),    // same width
            (1, 6, 6, (5, 5), (1, 1), (2, 2), (1, 1)),    // same width, LeNet's first layer
            (2, 5, 8, (3, 5), (1, 1), (1, 2), (1, 1)),    // same width, unequal kernel
            (1, 9, 9, (3, 3), (1, 1), (2, 2), (2, 2)),    // same width through dilation
            (3, 6, 5, (2, 3), (1, 1), (3, 4), (1, 1)),    // padding beyond the kernel's reach
            (2, 9, 11, (3, 3), (2, 3), (1, 0), (1, 2)),   // strides and dilation
            (1, 4, 40, (1, 3), (1, 1), (0, 1), (1, 1)),   // rows long enough for the library copy
            // Stride 2 across the width (ResNet's downsampling layers):
            (2, 8, 34, (3, 3), (2, 2), (1, 1), (1, 1)),   // ResNet's downsampling 3×3, 17 outputs a row
            (2, 6, 32, (1, 1), (2, 2), (0, 0), (1, 1)),   // a 1×1 projection shortcut
            (1, 9, 40, (3, 3), (1, 2), (2, 2), (2, 2)),   // stride 2 with dilation 2
            (3, 3, 17, (2, 3), (2, 2), (0, 3), (1, 1)),   // an odd width, padding beyond the reach
        ]
        for t in cases {
            let g = Convolution2DGeometry(batch: 1, inChannels: t.c, inHeight: t.h, inWidth: t.w, outChannels: 1,
                                          kernelHeight: t.k.0, kernelWidth: t.k.1, strideHeight: t.s.0, strideWidth: t.s.1,
                                          paddingHeight: t.p.0, paddingWidth: t.p.1, dilationHeight: t.d.0,
                                          dilationWidth: t.d.1, groups: 1)
            let x = (0..<(t.c * t.h * t.w)).map { _ in Float(generator.nextNormal()) }
            let rows = g.columnRows, plane = g.outPlane, stride = plane + 3   // a row stride wider than the row
            var columns = [Float](repeating: .nan, count: rows * stride)
            columns.withUnsafeMutableBufferPointer { im2col(x, g, into: $0.baseAddress!, rowStride: stride) }
            let upstream = (0..<(rows * stride)).map { _ in Float(generator.nextNormal()) }
            var dx = [Float](repeating: 0, count: x.count)
            var scratch = upstream   // col2im may zero the entries that came from the padding
            scratch.withUnsafeMutableBufferPointer { pc in
                dx.withUnsafeMutableBufferPointer { col2im(pc.baseAddress!, rowStride: stride, g, addingInto: $0.baseAddress!) }
            }
            var expectedDx = [Double](repeating: 0, count: x.count)
            for c in 0..<t.c {
                for i in 0..<t.k.0 {
                    for j in 0..<t.k.1 {
                        let r = (c * t.k.0 + i) * t.k.1 + j
                        for oh in 0..<g.outHeight {
                            for ow in 0..<g.outWidth {
                                let ih = oh * t.s.0 - t.p.0 + i * t.d.0, iw = ow * t.s.1 - t.p.1 + j * t.d.1
                                let inside = ih >= 0 && ih < t.h && iw >= 0 && iw < t.w
                                let index = (c * t.h + ih) * t.w + iw
                                let column = r * stride + oh * g.outWidth + ow
                                XCTAssertEqual(columns[column], inside ? x[index] : 0, "\(t) row \(r) (\(oh), \(ow))")
                                if inside { expectedDx[index] += Double(upstream[column]) }
                            }
                        }
                    }
                }
            }
            for i in 0..<x.count { XCTAssertEqual(Double(dx[i]), expectedDx[i], accuracy: 1e-5, "\(t) col2im at \(i)") }
        }
    }
}
