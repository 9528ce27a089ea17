import NablaTensor

/// The cross-entropy family, each one fused tape node returning the mean over the batch (PyTorch's
/// `reduction="mean"`): cross-entropy from logits with class-index targets (optional class weights and
/// label smoothing), with probability targets (the soft targets of mixup and cutmix), and the negative
/// log-likelihood of log-probabilities (`NLLLoss`, for models that end in `LogSoftmax`).
///
/// Notation: `z` the logits `[N, C]`, `q = log softmax(z)`, `p = softmax(z)`, `w` the class weights
/// (all ones when not given), `ε` the label smoothing.

/// Softmax cross-entropy from logits with class-index targets, PyTorch's
/// `F.cross_entropy(logits, labels, weight: w, label_smoothing: ε)`.
///
/// Without weights, with the target distribution `t = (1−ε)·onehot(y) + ε/C`:
/// `loss = −(1/N) Σ_n Σ_c t_nc·q_nc`, `∂z = (p − t)/N`.
///
/// With class weights PyTorch takes a *weighted mean*: with `W = Σ_n w_{y_n}` (the weights of the
/// target classes),
/// `loss = (1−ε)·Σ_n w_{y_n}·(−q_{n,y_n}) / W + (ε/C)·Σ_n Σ_c w_c·(−q_nc) / W`,
/// `∂z_nj = [(1−ε)·w_{y_n}·(p_nj − [j = y_n]) + (ε/C)·(p_nj·Σ_c w_c − w_j)] / W`
/// (`cross_entropy_loss_label_smoothing` in ATen's `LossNLL.cpp`; the smoothing term is divided by the
/// same `W`). Log-probabilities come from a max-shifted log-sum-exp, so no logit overflows.
/// - Parameters:
///   - logits: `[N, C]`.
///   - labels: `N` class indices in `0..<C`.
///   - classWeights: `C` weights (PyTorch's `weight`), or `nil` for all ones.
///   - labelSmoothing: `ε ∈ [0, 1]` (Szegedy et al., 2016, "Rethinking the Inception Architecture").
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func crossEntropy<Scalar>(logits: Variable<Scalar>, labels: [Int], classWeights: [Scalar]? = nil,
                                 labelSmoothing: Scalar = 0) -> Variable<Scalar> {
    precondition(logits.value.rank == 2, "crossEntropy expects logits [N, C], got \(logits.shape)")
    let n = logits.shape[0], c = logits.shape[1]
    precondition(labels.count == n, "crossEntropy: \(labels.count) labels for \(n) rows")
    precondition(labelSmoothing >= 0 && labelSmoothing <= 1, "label smoothing \(labelSmoothing) is out of range [0, 1]")
    for y in labels { precondition(y >= 0 && y < c, "crossEntropy: label \(y) is out of range 0..<\(c)") }
    if let classWeights {
        return weightedCrossEntropy(logits: logits, labels: labels, weights: classWeights, labelSmoothing: labelSmoothing)
    }
    let logP = logits.value.logSoftmax(alongAxis: 1)
    let onTarget = 1 - labelSmoothing, uniform = labelSmoothing / Scalar(c)
    var total: Scalar = 0
    logP.withUnsafeBufferPointer { lp in
        for i in 0..<n {
            var rowSum: Scalar = 0
            if uniform != 0 { for j in 0..<c { rowSum += lp[i * c + j] } }
            total -= onTarget * lp[i * c + labels[i]] + uniform * rowSum
        }
    }
    return Variable(Tensor(total / Scalar(n)), inputs: [logits]) { g in
        let scale = g.scalar / Scalar(n)
        var grad = logP.exp()
        grad.withUnsafeMutableBufferPointer { p in
            for i in 0..<n {
                for j in 0..<c { p[i * c + j] = (p[i * c + j] - uniform) * scale }
                p[i * c + labels[i]] -= onTarget * scale
            }
        }
        logits.accumulate(grad)
    }
}

/// The class-weighted case of ``crossEntropy(logits:labels:classWeights:labelSmoothing:)``.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
func weightedCrossEntropy<Scalar: TensorScalar>(logits: Variable<Scalar>, labels: [Int], weights: [Scalar],
                                                labelSmoothing: Scalar) -> Variable<Scalar> {
    let n = logits.shape[0], c = logits.shape[1]
    precondition(weights.count == c, "crossEntropy: \(weights.count) class weights for \(c) classes")
    let logP = logits.value.logSoftmax(alongAxis: 1)
    let onTarget = 1 - labelSmoothing, uniform = labelSmoothing / Scalar(c)
    let weightSum = weights.reduce(0, +)
    var targetWeight: Scalar = 0, nll: Scalar = 0, smooth: Scalar = 0
    logP.withUnsafeBufferPointer { lp in
        for i in 0..<n {
            let y = labels[i]
            targetWeight += weights[y]
            nll -= weights[y] * lp[i * c + y]
            if uniform != 0 { for j in 0..<c { smooth -= weights[j] * lp[i * c + j] } }
        }
    }
    let value = onTarget * (nll / targetWeight) + uniform * (smooth / targetWeight)
    return Variable(Tensor(value), inputs: [logits]) { g in
        let scale = g.scalar / targetWeight
        var grad = logP.exp()
        grad.withUnsafeMutableBufferPointer { p in
            for i in 0..<n {
                let y = labels[i], onWeight = onTarget * weights[y]
                for j in 0..<c {
                    p[i * c + j] = (onWeight * p[i * c + j] + uniform * (p[i * c + j] * weightSum - weights[j])) * scale
                }
                p[i * c + y] -= onWeight * scale
            }
        }
        logits.accumulate(grad)
    }
}

/// Softmax cross-entropy from logits with probability targets (soft labels), PyTorch's
/// `F.cross_entropy(logits, targets, weight: w, label_smoothing: ε)` with `targets` of the logits'
/// shape — the loss of mixup and cutmix batches.
///
/// With `t' = (1−ε)·t + ε/C`: `loss = −(1/N) Σ_n Σ_c w_c·t'_nc·q_nc` — PyTorch divides by `N` also
/// when weighted (`cross_entropy_loss_prob_target`), not by a sum of weights — and
/// `∂z_nj = (p_nj·Σ_c w_c·t'_nc − w_j·t'_nj) / N`. Rows of `t` need not sum to 1 (PyTorch does not
/// check); for rows that do, the gradient is `(p − t')/N` without weights.
/// - Parameters:
///   - logits: `[N, C]`.
///   - probabilities: the targets, `[N, C]`.
///   - classWeights: `C` weights, or `nil` for all ones.
///   - labelSmoothing: `ε ∈ [0, 1]`.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func crossEntropy<Scalar>(logits: Variable<Scalar>, probabilities: Tensor<Scalar>,
                                 classWeights: [Scalar]? = nil, labelSmoothing: Scalar = 0) -> Variable<Scalar> {
    let targets = probabilities
    precondition(logits.value.rank == 2, "crossEntropy expects logits [N, C], got \(logits.shape)")
    precondition(targets.shape == logits.shape, "crossEntropy: probability targets \(targets.shape) for logits \(logits.shape)")
    precondition(labelSmoothing >= 0 && labelSmoothing <= 1, "label smoothing \(labelSmoothing) is out of range [0, 1]")
    let n = logits.shape[0], c = logits.shape[1]
    if let classWeights { precondition(classWeights.count == c, "crossEntropy: \(classWeights.count) class weights for \(c) classes") }
    let weights = classWeights ?? [Scalar](repeating: 1, count: c)
    let onTarget = 1 - labelSmoothing, uniform = labelSmoothing / Scalar(c)
    // The smoothed, weighted targets w_c·t'_nc.
    let weighted = Tensor<Scalar>(shape: [n, c]) { out in
        targets.withUnsafeBufferPointer { t in
            for i in 0..<n {
                for j in 0..<c { out[i * c + j] = weights[j] * (labelSmoothing == 0 ? t[i * c + j] : t[i * c + j] * onTarget + uniform) }
            }
        }
    }
    let logP = logits.value.logSoftmax(alongAxis: 1)
    var total: Scalar = 0
    logP.withUnsafeBufferPointer { lp in
        weighted.withUnsafeBufferPointer { wt in
            for k in 0..<(n * c) { total -= wt[k] * lp[k] }
        }
    }
    return Variable(Tensor(total / Scalar(n)), inputs: [logits]) { g in
        let scale = g.scalar / Scalar(n)
        var grad = logP.exp()
        grad.withUnsafeMutableBufferPointer { p in
            weighted.withUnsafeBufferPointer { wt in
                for i in 0..<n {
                    var mass: Scalar = 0
                    for j in 0..<c { mass += wt[i * c + j] }
                    for j in 0..<c { p[i * c + j] = (p[i * c + j] * mass - wt[i * c + j]) * scale }
                }
            }
        }
        logits.accumulate(grad)
    }
}

/// The negative log-likelihood of log-probabilities, PyTorch's `F.nll_loss(input, labels, weight: w)`
/// (`NLLLoss`), for models whose last layer is `LogSoftmax`: with `W = Σ_n w_{y_n}`,
/// `loss = −Σ_n w_{y_n}·x_{n,y_n} / W`, `∂x_nj = −w_{y_n}·[j = y_n] / W` — the same weighted mean as
/// ``crossEntropy(logits:labels:classWeights:labelSmoothing:)``, which equals
/// `nllLoss(logProbabilities: logits.logSoftmax(), …)`. The input is not checked to be
/// log-probabilities (PyTorch does not check either).
/// - Parameters:
///   - logProbabilities: `[N, C]`.
///   - labels: `N` class indices in `0..<C`.
///   - classWeights: `C` weights, or `nil` for all ones (then `W = N`).
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func nllLoss<Scalar>(logProbabilities: Variable<Scalar>, labels: [Int], classWeights: [Scalar]? = nil) -> Variable<Scalar> {
    let input = logProbabilities
    precondition(input.value.rank == 2, "nllLoss expects log-probabilities [N, C], got \(input.shape)")
    let n = input.shape[0], c = input.shape[1]
    precondition(labels.count == n, "nllLoss: \(labels.count) labels for \(n) rows")
    if let classWeights { precondition(classWeights.count == c, "nllLoss: \(classWeights.count) class weights for \(c) classes") }
    var total: Scalar = 0, targetWeight: Scalar = 0
    input.value.withUnsafeBufferPointer { x in
        for i in 0..<n {
            let y = labels[i]
            precondition(y >= 0 && y < c, "nllLoss: label \(y) is out of range 0..<\(c)")
            let w = classWeights?[y] ?? 1
            targetWeight += w
            total -= w * x[i * c + y]
        }
    }
    return Variable(Tensor(total / targetWeight), inputs: [input]) { g in
        let scale = g.scalar / targetWeight
        var grad = Tensor<Scalar>(zeros: [n, c])
        grad.withUnsafeMutableBufferPointer { p in
            for i in 0..<n { p[i * c + labels[i]] = -(classWeights?[labels[i]] ?? 1) * scale }
        }
        input.accumulate(grad)
    }
}
