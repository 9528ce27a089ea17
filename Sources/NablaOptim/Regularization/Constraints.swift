import NablaTensor
import NablaNN

/// The max-norm constraint (Srivastava et al., 2014, "Dropout", §5.1; Keras `MaxNorm`; PyTorch
/// `torch.renorm(w, p=2, dim=0, maxnorm=c)`): after each optimizer step, every row of a weight whose
/// L2 norm exceeds `c` is projected back onto the ball of radius `c`.
///
/// A "row" is everything with the same leading index: for a Linear weight `[out, in]` it is the
/// incoming weight vector of one output unit; for a Conv2d weight `[out, in/groups, kH, kW]` one
/// output filter. With `n = ‖w_r‖₂`, rows with `n > c` are scaled by `c / (n + 1e-7)` (PyTorch's
/// renorm, whose `1e-7` keeps the division finite); other rows are left untouched.
///
/// The paper pairs it with dropout and large learning rates: weights cannot blow up however large
/// the step, so training can explore more.
public struct MaxNormConstraint: Sendable, Equatable {
    /// The largest allowed row norm `c`.
    public let maxNorm: Double

    /// Checks a user-supplied bound.
    /// - Throws: ``/NablaTensor/NablaError`` `"MaxNorm: max_norm=-1.0 must be positive"`.
    public static func validate(maxNorm: Double) throws {
        guard maxNorm > 0 && maxNorm.isFinite else {
            throw NablaError(.invalidArgument, "MaxNorm: max_norm=\(maxNorm) must be positive")
        }
    }

    /// - Precondition: `maxNorm > 0`.
    public init(maxNorm: Double) {
        precondition(maxNorm > 0 && maxNorm.isFinite, "MaxNorm: max_norm=\(maxNorm) must be positive")
        self.maxNorm = maxNorm
    }

    /// Renormalizes the rows of `weight` in place (its value, without recording a graph).
    /// Rank-0 and rank-1 tensors are treated as a single row.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func apply<Scalar>(to weight: Variable<Scalar>) {
        let rows = weight.value.rank >= 2 ? weight.shape[0] : 1
        let rowSize = weight.value.count / Swift.max(rows, 1)
        let c = maxNorm
        weight.value.withUnsafeMutableBufferPointer { w in
            for r in 0..<rows {
                let base = r * rowSize
                var squares = 0.0
                for j in 0..<rowSize { let x = Double(w[base + j]); squares += x * x }
                let norm = squares.squareRoot()
                if norm > c {
                    let scale = Scalar(c / (norm + 1e-7))
                    for j in 0..<rowSize { w[base + j] *= scale }
                }
            }
        }
    }

    /// Applies the constraint to every decayable parameter of rank ≥ 2 of `module` (Linear and
    /// convolution weights; see ``/NablaNN/ParameterSelection``) — call it after each optimizer step.
    public func apply<Scalar>(to module: Module<Scalar>) {
        for weight in module.decayableParameters() where weight.value.rank >= 2 { apply(to: weight) }
    }
}
