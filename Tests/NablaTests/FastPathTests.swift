import XCTest
@testable import Nabla

/// Specialized kernels agree with the plain definitions, including ties and NaN.
final class FastPathTests: XCTestCase {
    func testMaxPool2x2MatchesTheDefinitionWithTiesAndNaN() {
        var g = RandomGenerator(seed: 3)
        // Small integers make ties common; a few NaNs exercise propagation.
        var x = Tensor<Float>(shape: [2, 3, 6, 8]) { out in
            for i in 0..<out.count { out[i] = Float(g.next(upperBound: 4 as UInt64)) }
        }
        x.scalars[5] = .nan
        x.scalars[17] = .nan
        x.scalars[16] = .nan
        let input = Variable(x, requiresGradient: true)
        let y = maxPool2d(input, kernelSize: (2, 2))
        XCTAssertEqual(y.shape, [2, 3, 3, 4])
        var upstream = Tensor<Float>(zeros: y.shape)
        for i in 0..<upstream.count { upstream.scalars[i] = Float(i + 1) }
        y.backward(seed: upstream)
        var expectedGrad = [Float](repeating: 0, count: x.count)
        for plane in 0..<6 {
            for oh in 0..<3 {
                for ow in 0..<4 {
                    let taps = [(2 * oh, 2 * ow), (2 * oh, 2 * ow + 1), (2 * oh + 1, 2 * ow), (2 * oh + 1, 2 * ow + 1)]
                        .map { plane * 48 + $0.0 * 8 + $0.1 }
                    var best = -Float.infinity, index = taps[0]
                    for t in taps where x.scalars[t] > best { best = x.scalars[t]; index = t }
                    for t in taps where x.scalars[t].isNaN { best = x.scalars[t]; index = t }   // last NaN wins
                    let o = plane * 12 + oh * 4 + ow
                    if best.isNaN { XCTAssertTrue(y.value.scalars[o].isNaN) } else { XCTAssertEqual(y.value.scalars[o], best) }
                    expectedGrad[index] += upstream.scalars[o]
                }
            }
        }
        XCTAssertEqual(input.grad!.scalars, expectedGrad)
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
