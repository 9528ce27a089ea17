extension Variable {
    /// Back-propagates from this scalar: seeds its gradient with 1 and calls every recorded pullback
    /// in reverse topological order, then releases the graph (pullbacks, inputs and intermediate
    /// gradients), keeping ``grad`` on leaves.
    ///
    /// The topological order comes from an iterative depth-first search, so deep graphs cannot
    /// overflow the stack.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func backward() {
        precondition(value.count == 1, "backward() needs a scalar, shape is \(value.shape)")
        backward(seed: Tensor(repeating: 1, shape: value.shape))
    }

    /// Back-propagates an explicit upstream gradient `seed` of this node's shape (a vector-Jacobian product).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func backward(seed: Tensor<Scalar>) {
        guard requiresGradient else { return }
        let order = topologicalOrder()
        accumulate(seed)
        for node in order.reversed() {
            guard let pullback = node.pullback else { continue }
            if let g = node.grad { pullback(g) }
            node.pullback = nil
            node.inputs = []
            node.grad = nil
        }
    }

    /// Nodes reachable from `self` that have a pullback, each after all of its inputs.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    func topologicalOrder() -> [Variable] {
        var order: [Variable] = []
        var visited = Set<ObjectIdentifier>()
        var stack: [(node: Variable, expanded: Bool)] = [(self, false)]
        while let (node, expanded) = stack.popLast() {
            if expanded { order.append(node); continue }
            if !visited.insert(ObjectIdentifier(node)).inserted { continue }
            stack.append((node, true))
            for input in node.inputs where input.pullback != nil && !visited.contains(ObjectIdentifier(input)) {
                stack.append((input, false))
            }
        }
        return order
    }
}

/// Whether operations record themselves for differentiation — PyTorch's grad mode.
///
/// The mode is task-local (Swift's `@TaskLocal`; on a thread outside any task it is thread-local), as
/// PyTorch's `torch.no_grad()` is thread-local: turning recording off inside one task or thread
/// never affects another, so a data-loading thread or a concurrent evaluation cannot switch off
/// the training thread's gradients. It is scoped: only ``withoutGradient(_:)`` changes it, for the
/// duration of its body.
public enum GradientMode {
    /// Whether recording is on in the current task or thread (it is unless inside
    /// ``withoutGradient(_:)``).
    @TaskLocal public static var isEnabled = true
}

/// Runs `body` with gradient recording off in the current task or thread (evaluation, optimizer
/// updates): operations inside build no graph and keep no saved tensors. The previous mode is
/// restored when `body` returns or throws.
@discardableResult
public func withoutGradient<R>(_ body: () throws -> R) rethrows -> R {
    try GradientMode.$isEnabled.withValue(false, operation: body)
}
