/// Softmax and log-softmax of plain tensors (no graph): the probabilities of logits, used by
/// evaluation, test-time augmentation and prediction. The differentiable versions are
/// `Variable.softmax(alongAxis:)` and `Variable.logSoftmax(alongAxis:)` in NablaNN.
extension Tensor {
    /// Numerically stable log-softmax along `axis`.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func logSoftmax(alongAxis axis: Int = -1) -> Tensor {
        let shifted = self - max(alongAxes: [axis], keepingDimensions: true)
        return shifted - shifted.exp().sum(alongAxes: [axis], keepingDimensions: true).log()
    }

    /// Numerically stable softmax along `axis`.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func softmax(alongAxis axis: Int = -1) -> Tensor {
        let e = (self - max(alongAxes: [axis], keepingDimensions: true)).exp()
        return e / e.sum(alongAxes: [axis], keepingDimensions: true)
    }
}
