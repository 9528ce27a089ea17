import NablaTensor

extension Variable {
    /// Swish (Ramachandran, Zoph & Le, 2017, "Searching for Activation Functions"),
    /// `swish(x) = x·σ(βx)` with the logistic `σ(z) = 1/(1 + e^{−z})`; `β = 1` is SiLU
    /// (Elfwing et al., 2018; PyTorch `nn.SiLU`).
    ///
    /// One tape node with a hand-written pullback: with `s = σ(βx)` and `y = x·s`,
    /// `∂y/∂x = s + βx·s(1 − s) = s + β·y·(1 − s)`, so the backward reads the saved `s` and `y` and
    /// evaluates no exponential.
    ///
    /// `@_specialize` gives the `Float` and `Double` versions their own compiled bodies: a layer's
    /// `forward` is reached through the class's vtable in generic code, where an unspecialized
    /// kernel pays a protocol call for every arithmetic operation (Nabla's own kernels do the same).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func swish(beta: Scalar = 1) -> Variable {
        let x = value
        let s = Tensor<Scalar>(shape: x.shape, unsafeUninitialized: { ps in
            x.withUnsafeBufferPointer { px in for i in 0..<ps.count { ps[i] = logistic(beta * px[i]) } }
        })
        let y = x * s
        // The pullback captures the input node and the saved tensors, never the result node, and
        // adds into the input's gradient (`accumulate`), so an input used twice gets both parts.
        return Variable(y, inputs: [self]) { [self] upstream in
            self.accumulate(Tensor(shape: x.shape, unsafeUninitialized: { out in
                upstream.withUnsafeBufferPointer { pg in
                    s.withUnsafeBufferPointer { ps in
                        y.withUnsafeBufferPointer { py in
                            for i in 0..<out.count { out[i] = pg[i] * (ps[i] + beta * py[i] * (1 - ps[i])) }
                        }
                    }
                }
            }))
        }
    }
}

/// `1/(1 + e^{−z})`, without overflow for large `|z|`.
@inline(__always)
func logistic<Scalar: TensorScalar>(_ z: Scalar) -> Scalar {
    if z >= 0 { return 1 / (1 + Scalar.exp(-z)) }
    let e = Scalar.exp(z)
    return e / (1 + e)
}
