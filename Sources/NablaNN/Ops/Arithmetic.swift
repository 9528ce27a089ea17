import NablaTensor

/// Differentiable elementwise arithmetic with broadcasting. The gradient of a broadcast operand is the
/// upstream gradient summed over the stretched axes (``/NablaTensor/Tensor/unbroadcast(to:)``).
extension Variable {
    /// `lhs + rhs` with broadcasting; `∂lhs = unbroadcast(g)`, `∂rhs = unbroadcast(g)`.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static func + (lhs: Variable, rhs: Variable) -> Variable {
        let (ls, rs) = (lhs.shape, rhs.shape)
        return Variable(lhs.value + rhs.value, inputs: [lhs, rhs]) { g in
            lhs.accumulate(g.unbroadcast(to: ls))
            rhs.accumulate(g.unbroadcast(to: rs))
        }
    }

    /// `lhs − rhs` with broadcasting; `∂lhs = unbroadcast(g)`, `∂rhs = −unbroadcast(g)`.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static func - (lhs: Variable, rhs: Variable) -> Variable {
        let (ls, rs) = (lhs.shape, rhs.shape)
        return Variable(lhs.value - rhs.value, inputs: [lhs, rhs]) { g in
            lhs.accumulate(g.unbroadcast(to: ls))
            if rhs.requiresGradient { rhs.accumulate((-g).unbroadcast(to: rs)) }
        }
    }

    /// `lhs ⊙ rhs` with broadcasting; `∂lhs = unbroadcast(g ⊙ rhs)`, `∂rhs = unbroadcast(g ⊙ lhs)`.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static func * (lhs: Variable, rhs: Variable) -> Variable {
        let (a, b) = (lhs.value, rhs.value)
        return Variable(a * b, inputs: [lhs, rhs]) { g in
            if lhs.requiresGradient { lhs.accumulate((g * b).unbroadcast(to: a.shape)) }
            if rhs.requiresGradient { rhs.accumulate((g * a).unbroadcast(to: b.shape)) }
        }
    }

    /// `lhs / rhs` with broadcasting; `∂lhs = unbroadcast(g / rhs)`, `∂rhs = −unbroadcast(g ⊙ lhs / rhs²)`.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static func / (lhs: Variable, rhs: Variable) -> Variable {
        let (a, b) = (lhs.value, rhs.value)
        return Variable(a / b, inputs: [lhs, rhs]) { g in
            if lhs.requiresGradient { lhs.accumulate((g / b).unbroadcast(to: a.shape)) }
            if rhs.requiresGradient { rhs.accumulate((-g * a / (b * b)).unbroadcast(to: b.shape)) }
        }
    }

    /// `−x`; `∂x = −g`.
    public static prefix func - (x: Variable) -> Variable {
        Variable(-x.value, inputs: [x]) { g in x.accumulate(-g) }
    }

    /// `lhs + c` for every element; `∂lhs = g`.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static func + (lhs: Variable, rhs: Scalar) -> Variable {
        Variable(lhs.value + rhs, inputs: [lhs]) { g in lhs.accumulate(g) }
    }

    /// `lhs − c` for every element (as `lhs + (−c)`); `∂lhs = g`.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static func - (lhs: Variable, rhs: Scalar) -> Variable { lhs + (-rhs) }

    /// `c·lhs` for every element; `∂lhs = c·g`.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static func * (lhs: Variable, rhs: Scalar) -> Variable {
        Variable(lhs.value * rhs, inputs: [lhs]) { g in lhs.accumulate(g * rhs) }
    }

    /// `c·rhs` for every element; `∂rhs = c·g`.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static func * (lhs: Scalar, rhs: Variable) -> Variable { rhs * lhs }
    /// `lhs / c`, computed as `lhs · (1/c)` (which may differ from a division in the last bit); `∂lhs = g/c`.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public static func / (lhs: Variable, rhs: Scalar) -> Variable { lhs * (1 / rhs) }

    /// Elementwise square.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func squared() -> Variable {
        let x = value
        return Variable(x.squared(), inputs: [self]) { [self] g in self.accumulate(g * x * 2) }
    }

    /// Elementwise absolute value; the subgradient at 0 is 0 (as PyTorch's `sign`).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func abs() -> Variable {
        let x = value
        return Variable(x.abs(), inputs: [self]) { [self] g in
            self.accumulate(g.zipWith(x) { gi, xi in xi > 0 ? gi : (xi < 0 ? -gi : 0) })
        }
    }

    /// Elementwise `eˣ`.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func exp() -> Variable {
        let y = value.exp()
        return Variable(y, inputs: [self]) { [self] g in self.accumulate(g * y) }
    }

    /// Elementwise natural logarithm.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func log() -> Variable {
        let x = value
        return Variable(x.log(), inputs: [self]) { [self] g in self.accumulate(g / x) }
    }

    /// Elementwise square root.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func squareRoot() -> Variable {
        let y = value.squareRoot()
        return Variable(y, inputs: [self]) { [self] g in self.accumulate(g / (y * 2)) }
    }
}
