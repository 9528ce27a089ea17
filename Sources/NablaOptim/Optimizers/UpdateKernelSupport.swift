import Foundation
import NablaTensor

// Helpers for the optimizers' element loops. Each update function decides its branches once per
// parameter (decay on or off, momentum, AMSGrad, first step, …) and runs a loop body with those
// decisions as compile-time constants: `branch(flag) { flag in … }` calls its body with a literal
// `true` or `false`, so after inlining every combination is its own branch-free loop, which the
// compiler vectorizes (a loop with a data-independent `if` inside, or a conditional store, is not).

/// Calls `body(true)` or `body(false)` so that `body` sees `flag` as a constant after inlining.
@inline(__always)
func branch(_ flag: Bool, _ body: (Bool) -> Void) {
    if flag { body(true) } else { body(false) }
}

/// PyTorch's `lerp(start, end, weight)` on CPU: `start + w·(end − start)` for `|w| < 0.5`,
/// `end − (end − start)·(1 − w)` otherwise (the two forms keep the endpoints exact).
@inline(__always)
func lerp<Scalar: TensorScalar>(_ start: Scalar, _ end: Scalar, weight: Scalar, small: Bool) -> Scalar {
    small ? start + weight * (end - start) : end - (end - start) * (1 - weight)
}

/// Element-wise work of `count` elements, split over the cores when it is large enough to pay for
/// the dispatch (each chunk is a contiguous range; chunks never overlap).
@inline(__always)
func forEachChunk(_ count: Int, _ body: (Range<Int>) -> Void) {
    let chunks = count >= 1 << 16 ? updateThreadCount : 1
    if chunks <= 1 {
        body(0..<count)
        return
    }
    Parallelism.forEachRange(of: count, parts: chunks) { range, _ in body(range) }
}

/// The number of chunks a large update is split into: ``Parallelism/threadCount``, at most 8.
var updateThreadCount: Int { max(1, min(Parallelism.threadCount, 8)) }
