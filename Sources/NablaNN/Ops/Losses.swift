import NablaTensor

/// Regression and margin losses, each one fused tape node returning the mean over the batch
/// (PyTorch's `reduction="mean"`). The cross-entropy family is in `ClassificationLosses.swift`.

/// Applies an elementwise loss `ℓ(x, t)` with derivative `∂ℓ/∂x` and returns its mean.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
func meanElementwiseLoss<Scalar>(
    _ prediction: Variable<Scalar>, _ target: Tensor<Scalar>, name: String,
    loss: @escaping (Scalar, Scalar) -> Scalar, derivative: @escaping (Scalar, Scalar) -> Scalar
) -> Variable<Scalar> {
    precondition(prediction.shape == target.shape,
                 "\(name): prediction shape \(prediction.shape) differs from target shape \(target.shape)")
    let x = prediction.value
    let n = Scalar(x.count)
    let value = x.zipWith(target, loss).sum() / n
    return Variable(Tensor(value), inputs: [prediction]) { g in
        let scale = g.scalar / n
        prediction.accumulate(x.zipWith(target) { derivative($0, $1) * scale })
    }
}

/// Mean squared error `(1/n) Σ (x − t)²`.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func meanSquaredError<Scalar>(_ prediction: Variable<Scalar>, _ target: Tensor<Scalar>) -> Variable<Scalar> {
    meanElementwiseLoss(prediction, target, name: "meanSquaredError",
                        loss: { ($0 - $1) * ($0 - $1) }, derivative: { 2 * ($0 - $1) })
}

/// Mean absolute error `(1/n) Σ |x − t|`; subgradient 0 where `x = t`.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func l1Loss<Scalar>(_ prediction: Variable<Scalar>, _ target: Tensor<Scalar>) -> Variable<Scalar> {
    meanElementwiseLoss(prediction, target, name: "l1Loss",
                        loss: { Swift.abs($0 - $1) }, derivative: { $0 > $1 ? 1 : ($0 < $1 ? -1 : 0) })
}

/// Smooth L1 (Girshick, 2015, "Fast R-CNN"), PyTorch's `SmoothL1Loss(beta)`:
/// `0.5·d²/β` for `|d| < β`, else `|d| − 0.5·β`, with `d = x − t`. `β = 0` is the L1 loss.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func smoothL1Loss<Scalar>(_ prediction: Variable<Scalar>, _ target: Tensor<Scalar>, beta: Scalar = 1) -> Variable<Scalar> {
    precondition(beta >= 0, "smoothL1Loss: beta \(beta) must be non-negative")
    return meanElementwiseLoss(prediction, target, name: "smoothL1Loss", loss: { x, t in
        let d = Swift.abs(x - t)
        return d < beta ? 0.5 * d * d / beta : d - 0.5 * beta
    }, derivative: { x, t in
        let d = x - t
        return Swift.abs(d) < beta ? d / beta : (d > 0 ? 1 : (d < 0 ? -1 : 0))
    })
}

/// Huber loss (Huber, 1964), PyTorch's `HuberLoss(delta)`: `0.5·d²` for `|d| ≤ δ`, else `δ·(|d| − 0.5·δ)`.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func huberLoss<Scalar>(_ prediction: Variable<Scalar>, _ target: Tensor<Scalar>, delta: Scalar = 1) -> Variable<Scalar> {
    precondition(delta > 0, "huberLoss: delta \(delta) must be positive")
    return meanElementwiseLoss(prediction, target, name: "huberLoss", loss: { x, t in
        let d = Swift.abs(x - t)
        return d <= delta ? 0.5 * d * d : delta * (d - 0.5 * delta)
    }, derivative: { x, t in
        let d = x - t
        return Swift.abs(d) <= delta ? d : (d > 0 ? delta : -delta)
    })
}

/// Binary cross-entropy from logits, PyTorch's `BCEWithLogitsLoss`:
/// `ℓ = max(x, 0) − x·t + log(1 + e^{−|x|})` (the stable form of `−t·log σ(x) − (1−t)·log(1−σ(x))`);
/// `∂ℓ/∂x = σ(x) − t`.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func binaryCrossEntropy<Scalar>(logits: Variable<Scalar>, targets: Tensor<Scalar>) -> Variable<Scalar> {
    meanElementwiseLoss(logits, targets, name: "binaryCrossEntropy", loss: { x, t in
        Swift.max(x, 0) - x * t + Scalar.log(1 + Scalar.exp(-Swift.abs(x)))
    }, derivative: { x, t in logistic(x) - t })
}

/// The multiclass SVM hinge loss of cs231n (Weston & Watkins, 1999):
/// `(1/N) Σ_n Σ_{j≠y_n} max(0, s_nj − s_n,y_n + margin)`.
///
/// PyTorch's `MultiMarginLoss(margin)` is this divided by the class count `C`.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func multiclassHingeLoss<Scalar>(scores: Variable<Scalar>, labels: [Int], margin: Scalar = 1) -> Variable<Scalar> {
    precondition(scores.value.rank == 2, "multiclassHingeLoss expects scores [N, C], got \(scores.shape)")
    let n = scores.shape[0], c = scores.shape[1]
    precondition(labels.count == n, "multiclassHingeLoss: \(labels.count) labels for \(n) rows")
    let s = scores.value
    var total: Scalar = 0
    var grad = [Scalar](repeating: 0, count: n * c)   // ∂loss/∂s for upstream gradient 1
    for i in 0..<n {
        let y = labels[i]
        precondition(y >= 0 && y < c, "multiclassHingeLoss: label \(y) is out of range 0..<\(c)")
        let sy = s.scalars[i * c + y]
        for j in 0..<c where j != y {
            let m = s.scalars[i * c + j] - sy + margin
            if m > 0 {
                total += m
                grad[i * c + j] += 1 / Scalar(n)
                grad[i * c + y] -= 1 / Scalar(n)
            }
        }
    }
    let g0 = Tensor(shape: [n, c], scalars: grad)
    return Variable(Tensor(total / Scalar(n)), inputs: [scores]) { g in scores.accumulate(g0 * g.scalar) }
}
