import NablaTensor

/// Pointwise activation functions, each one tape node with its closed-form derivative.
extension Variable {
    /// Applies `f` with derivative `df(x, y)` (input and output) as one node.
    @inlinable
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    func pointwise(_ f: (Scalar) -> Scalar, derivative df: @escaping (Scalar, Scalar) -> Scalar) -> Variable {
        let x = value
        let y = x.map(f)
        return Variable(y, inputs: [self]) { [self] g in
            self.accumulate(Tensor(shape: x.shape) { out in
                g.withUnsafeBufferPointer { pg in
                    x.withUnsafeBufferPointer { px in
                        y.withUnsafeBufferPointer { py in
                            for i in 0..<out.count { out[i] = pg[i] * df(px[i], py[i]) }
                        }
                    }
                }
            })
        }
    }

    /// `max(x, 0)`; derivative 0 at 0 (PyTorch's convention).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func relu() -> Variable {
        // Dedicated loops (no per-element closure calls) so both directions vectorize; the backward
        // reads the output, since y > 0 exactly where x > 0.
        let x = value
        let y = Tensor<Scalar>(shape: x.shape) { out in
            x.withUnsafeBufferPointer { px in
                guard let po = out.baseAddress, let pxb = px.baseAddress else { return }
                Parallelism.forEachElementRange(of: out.count) { range in
                    for i in range { po[i] = Swift.max(pxb[i], 0) }
                }
            }
        }
        return Variable(y, inputs: [self]) { [self] g in self.accumulate(reluBackward(g, output: y)) }
    }

    /// `x` for `x > 0`, else `negativeSlope·x` (PyTorch default slope 0.01).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func leakyRelu(negativeSlope: Scalar = 0.01) -> Variable {
        pointwise({ $0 > 0 ? $0 : negativeSlope * $0 }, derivative: { x, _ in x > 0 ? 1 : negativeSlope })
    }

    /// The logistic function `σ(x) = 1/(1+e^{−x})`, evaluated without overflow; `σ' = σ(1−σ)`.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func sigmoid() -> Variable { pointwise(logistic, derivative: { _, y in y * (1 - y) }) }

    /// Hyperbolic tangent; `tanh' = 1 − tanh²`.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func tanh() -> Variable { pointwise({ Scalar.tanh($0) }, derivative: { _, y in 1 - y * y }) }

    /// GELU (Hendrycks & Gimpel, 2016), exact form `x·Φ(x) = x/2·(1 + erf(x/√2))` (PyTorch's default);
    /// derivative `Φ(x) + x·φ(x)`.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func gelu() -> Variable {
        let invSqrt2 = Scalar(0.7071067811865476), invSqrt2Pi = Scalar(0.3989422804014327)
        return pointwise({ $0 * 0.5 * (1 + Scalar.erf($0 * invSqrt2)) }, derivative: { x, _ in
            0.5 * (1 + Scalar.erf(x * invSqrt2)) + x * invSqrt2Pi * Scalar.exp(-0.5 * x * x)
        })
    }

    /// `softmax(x)_i = e^{x_i − max} / Σ_j e^{x_j − max}` along `axis` (default: last);
    /// backward `∂x = y ⊙ (g − Σ(g ⊙ y))`.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func softmax(alongAxis axis: Int = -1) -> Variable {
        let y = value.softmax(alongAxis: axis)
        return Variable(y, inputs: [self]) { [self] g in
            let gy = g * y
            self.accumulate(gy - y * gy.sum(alongAxes: [axis], keepingDimensions: true))
        }
    }

    /// `log softmax(x)` along `axis`, computed as `x − max − log Σ e^{x − max}`;
    /// backward `∂x = g − softmax(x)·Σg`.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func logSoftmax(alongAxis axis: Int = -1) -> Variable {
        let y = value.logSoftmax(alongAxis: axis)
        return Variable(y, inputs: [self]) { [self] g in
            self.accumulate(g - y.exp() * g.sum(alongAxes: [axis], keepingDimensions: true))
        }
    }
}

/// `1/(1+e^{−x})` without overflow for large `|x|`.
@inlinable
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
func logistic<Scalar: TensorScalar>(_ x: Scalar) -> Scalar {
    if x >= 0 { return 1 / (1 + Scalar.exp(-x)) }
    let e = Scalar.exp(x)
    return e / (1 + e)
}

/// The backward of ReLU from its output: `∂x = ∂y` where `y > 0`, else 0 (also at `x = 0`, as PyTorch).
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
func reluBackward<Scalar: TensorScalar>(_ upstream: Tensor<Scalar>, output y: Tensor<Scalar>) -> Tensor<Scalar> {
    Tensor<Scalar>(shape: y.shape) { out in
        upstream.withUnsafeBufferPointer { pg in
            y.withUnsafeBufferPointer { py in
                let count = out.count
                let po = out.baseAddress!, pgb = pg.baseAddress!, pyb = py.baseAddress!
                Parallelism.forEachElementRange(of: count) { range in
                    // Both loads are unconditional, so the select vectorizes (a conditional load of
                    // `pg[i]` would not: the compiler cannot prove it in bounds).
                    for i in range {
                        let g = pgb[i], output = pyb[i]
                        po[i] = output > 0 ? g : 0
                    }
                }
            }
        }
    }
}
