import Foundation
import NablaTensor

/// How dropout keeps the expected activation equal between training and evaluation.
///
/// With keep probability `q = 1 − p` a kept unit's expectation shrinks by `q` in training.
/// - `inverted` (PyTorch, cs231n; the default): scale kept units by `1/q` in training, identity in
///   evaluation.
/// - `vanilla` (Srivastava et al., 2014, "Dropout: A Simple Way to Prevent Neural Networks from
///   Overfitting", JMLR 15): no scaling in training, multiply by `q` in evaluation.
public enum DropoutMode: String, Sendable, CaseIterable, Codable {
    /// Scale kept units by `1/(1 − p)` in training; identity in evaluation (PyTorch's `nn.Dropout`).
    case inverted
    /// No scaling in training; multiply by `1 − p` in evaluation (the original paper's formulation).
    case vanilla
}

/// Checks a drop probability a user supplied (a CLI flag, a model file).
/// - Throws: ``/NablaTensor/NablaError`` `"<layer>: p=1.5 is out of range [0, 1]"` for `p ∉ [0, 1]` or NaN.
public func validateDropProbability(_ p: Double, layer: String) throws {
    guard p >= 0 && p <= 1 else {
        throw NablaError(.invalidArgument, "\(layer): p=\(p) is out of range [0, 1]")
    }
}

@inlinable
func preconditionDropProbability(_ p: Double, _ name: String) {
    precondition(p >= 0 && p <= 1, "\(name): p=\(p) is out of range [0, 1]")
}

/// A keep mask of `shape`: each element is independently 0 (dropped) with probability `p` and 1
/// (kept) otherwise. Every element consumes 32 random bits (two elements per 64-bit draw, low half
/// first), and is dropped when those bits, read as an integer `u ∈ [0, 2³²)`, satisfy
/// `u < round(p·2³²)` — so `p = 0` keeps everything and `p = 1` drops everything exactly.
public func dropoutMask<Scalar: TensorScalar>(
    shape: [Int], probability p: Double, using generator: inout RandomGenerator
) -> Tensor<Scalar> {
    preconditionDropProbability(p, "dropoutMask")
    return drawMask(shape: shape, probability: p, keptValue: 1, using: &generator)
}

/// ``dropoutMask(shape:probability:using:)`` with kept elements set to `keptValue` instead of 1 —
/// the scaled mask of the training path, drawn in one pass.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
func drawMask<Scalar: TensorScalar>(
    shape: [Int], probability p: Double, keptValue: Scalar, using generator: inout RandomGenerator
) -> Tensor<Scalar> {
    let threshold = UInt64((p * 4_294_967_296).rounded())
    // Large masks are drawn in parallel parts of whole blocks, each part starting from the generator
    // jumped ahead to its first draw (`RandomGenerator.advance(by:)`), so every element gets the bits
    // the serial draw gives it, on any number of threads, and the generator ends where the serial
    // draw leaves it.
    let block = maskBlock
    let count = shape.reduce(1, *)
    let blocks = (count + block - 1) / block
    let parts = Parallelism.parts(forWork: count, items: blocks)
    let start = generator
    var end = generator
    let mask = Tensor<Scalar>(shape: shape) { out in
        Parallelism.forEachRange(of: blocks, parts: parts) { range, _ in
            var local = start
            if range.lowerBound > 0 { local.advance(by: UInt64(range.lowerBound * block / 2)) }
            drawMaskBlocks(out, from: range.lowerBound * block, to: Swift.min(count, range.upperBound * block),
                           threshold: threshold, keptValue: keptValue, using: &local)
            if range.upperBound == blocks { end = local }   // exactly one part ends the mask
        }
    }
    generator = end
    return mask
}

/// The elements of a keep mask drawn per block, 256 draws (two elements each): a part of a mask
/// drawn in parallel is a run of whole blocks.
private let maskBlock = 512

/// Elements `lower ..< upper` of a keep mask (`lower` a multiple of ``maskBlock``), from `generator`
/// positioned at draw `lower / 2`: per block, first the raw 32-bit draws into a stack buffer (the
/// sequential part), then a branch-free, vectorizable compare-and-select (a branch would mispredict
/// half the time at p = ½).
@inline(__always)
private func drawMaskBlocks<Scalar: TensorScalar>(
    _ out: UnsafeMutableBufferPointer<Scalar>, from lower: Int, to upper: Int, threshold: UInt64, keptValue: Scalar,
    using generator: inout RandomGenerator
) {
    let block = maskBlock
    withUnsafeTemporaryAllocation(of: UInt64.self, capacity: block) { bits in
        var local = generator   // a local copy keeps the state in registers inside the loop
        defer { generator = local }
        var start = lower
        while start < upper {
            let size = Swift.min(block, upper - start)
            for k in stride(from: 0, to: size, by: 2) {
                let r = local.next()
                bits[k] = r & 0xFFFF_FFFF
                if k + 1 < size { bits[k + 1] = r >> 32 }
            }
            let o = out.baseAddress! + start
            for k in 0..<size { o[k] = bits[k] < threshold ? 0 : keptValue }
            start += size
        }
    }
}

/// The factor kept elements are multiplied by in training: `1/(1 − p)` (inverted; 0 when `p = 1`,
/// where nothing is kept) or 1 (vanilla).
func trainingScale<Scalar: TensorScalar>(probability p: Double, mode: DropoutMode) -> Scalar {
    mode == .vanilla ? 1 : (p == 1 ? 0 : Scalar(1 / (1 - p)))
}

/// Inverted or vanilla dropout (Srivastava et al., 2014), one tape node; `p` is the probability of
/// *dropping* a unit (PyTorch's convention; seed 000 mislabels it).
///
/// With a keep mask `m` drawn per element (per sample and per unit) from `generator`:
/// - inverted, training: `y = x ⊙ m / (1 − p)`; evaluation: `y = x` (no node, no random draws);
/// - vanilla, training: `y = x ⊙ m`; evaluation: `y = (1 − p)·x`.
///
/// Backward multiplies the upstream gradient by the same scaled mask, kept from the forward pass
/// (seed 003's point: the cache holds the *scaled* mask). `p = 1` yields zeros (the scale is taken as
/// 0, never `1/0`); `p = 0` returns `x` unchanged without drawing.
/// - Precondition: `p ∈ [0, 1]` (validate user input with ``validateDropProbability(_:layer:)``).
public func dropout<Scalar>(
    _ x: Variable<Scalar>, probability p: Double, training: Bool, mode: DropoutMode = .inverted,
    using generator: inout RandomGenerator
) -> Variable<Scalar> {
    preconditionDropProbability(p, "dropout")
    if !training { return dropoutEvaluation(x, probability: p, mode: mode) }
    if p == 0 { return x }
    let scaledMask = drawMask(shape: x.shape, probability: p, keptValue: trainingScale(probability: p, mode: mode) as Scalar,
                              using: &generator)
    return maskedScale(x, scaledMask: scaledMask, groupSize: 1)
}

/// Training-mode dropout with an explicit keep mask `m` of `x`'s shape (0 or 1 per element): the
/// deterministic core of ``dropout(_:probability:training:mode:using:)``, used by gradient checks.
/// `y = x ⊙ m·s` with `s = 1/(1 − p)` (inverted; 0 when `p = 1`) or `s = 1` (vanilla).
public func dropout<Scalar>(
    _ x: Variable<Scalar>, mask: Tensor<Scalar>, probability p: Double, mode: DropoutMode = .inverted
) -> Variable<Scalar> {
    preconditionDropProbability(p, "dropout")
    precondition(mask.shape == x.shape, "dropout: mask shape \(mask.shape) differs from input shape \(x.shape)")
    return maskedScale(x, scaledMask: scaledKeepMask(mask, probability: p, mode: mode, name: "dropout"), groupSize: 1)
}

/// Evaluation-mode dropout: identity (inverted) or `(1 − p)·x` (vanilla).
func dropoutEvaluation<Scalar>(_ x: Variable<Scalar>, probability p: Double, mode: DropoutMode) -> Variable<Scalar> {
    switch mode {
    case .inverted:
        return x
    case .vanilla:
        if p == 0 { return x }
        let keep = Scalar(1 - p)
        return Variable(x.value * keep, inputs: [x]) { g in x.accumulate(g * keep) }
    }
}

/// `mask·s` where `s` is the training scale of `mode`; checks that the mask holds only 0 and 1.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
func scaledKeepMask<Scalar: TensorScalar>(
    _ mask: Tensor<Scalar>, probability p: Double, mode: DropoutMode, name: String
) -> Tensor<Scalar> {
    let scale: Scalar = trainingScale(probability: p, mode: mode)
    return Tensor(shape: mask.shape) { out in
        mask.withUnsafeBufferPointer { m in
            for i in 0..<m.count {
                precondition(m[i] == 0 || m[i] == 1, "\(name): mask element \(i) is \(m[i]), not 0 or 1")
                out[i] = m[i] * scale
            }
        }
    }
}

/// `y[g·k + j] = x[g·k + j] · m[g]` for groups of `k = groupSize` consecutive elements, one tape node
/// whose pullback is `∂x[g·k + j] = ∂y[g·k + j] · m[g]`. Element dropout uses `k = 1`, channel dropout
/// `k = H·W`, drop-path `k = C·H·W`.
func maskedScale<Scalar>(_ x: Variable<Scalar>, scaledMask: Tensor<Scalar>, groupSize: Int) -> Variable<Scalar> {
    precondition(scaledMask.count * groupSize == x.value.count,
                 "maskedScale: \(scaledMask.count) groups of \(groupSize) do not cover shape \(x.shape)")
    let out = scaleGroups(x.value, by: scaledMask, groupSize: groupSize)
    return Variable(out, inputs: [x]) { g in
        x.accumulate(scaleGroups(g, by: scaledMask, groupSize: groupSize))
    }
}

/// The forward and backward kernel of ``maskedScale(_:scaledMask:groupSize:)``, split over the
/// threads once there are at least 2¹⁵ elements per thread.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
func scaleGroups<Scalar: TensorScalar>(_ x: Tensor<Scalar>, by m: Tensor<Scalar>, groupSize k: Int) -> Tensor<Scalar> {
    let groups = m.count
    return Tensor(shape: x.shape) { out in
        x.withUnsafeBufferPointer { px in
            m.withUnsafeBufferPointer { pm in
                let po = out.baseAddress!, pxb = px.baseAddress!, pmb = pm.baseAddress!
                func run(_ range: Range<Int>) {
                    if k == 1 {
                        for i in range { po[i] = pxb[i] * pmb[i] }
                    } else {
                        for group in range {
                            let s = pmb[group], base = group * k
                            if s == 0 {
                                (po + base).initialize(repeating: 0, count: k)
                            } else {
                                for j in 0..<k { po[base + j] = pxb[base + j] * s }
                            }
                        }
                    }
                }
                let parts = Parallelism.parts(forWork: x.count, items: groups)
                Parallelism.forEachRange(of: groups, parts: parts) { range, _ in run(range) }
            }
        }
    }
}
