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
            // Taken out of the node first, so that the pullback holds the only reference.
            if var g = node.grad.take() { pullback(&g) }
            node.pullback = nil
            node.inputs = []
        }
    }

    /// ``backward()`` that also reports each leaf's gradient the moment it is final, so work on it
    /// (a data-parallel gradient reduction) can start while the rest of the graph is still being
    /// differentiated — PyTorch DDP's per-parameter autograd hooks.
    ///
    /// A leaf that requires a gradient is *ready* once the last node that feeds it in the reverse
    /// topological order has run its pullback: no later pullback can add to its ``grad``.
    /// `gradientReady(leaf)` is called on the calling thread right then, once per leaf reached from
    /// this node, in the order the leaves become ready (the same order on every run of the same
    /// graph); a leaf the graph does not reach is never reported. ``grad`` may still be `nil` for a
    /// reached leaf whose consumers received no gradient. The callback must not run ``backward()``.
    ///
    /// The plain ``backward()`` does none of this bookkeeping (one pass over the graph's edges
    /// and a per-node array here).
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func backward(gradientReady: (Variable) -> Void) {
        precondition(value.count == 1, "backward() needs a scalar, shape is \(value.shape)")
        backward(seed: Tensor(repeating: 1, shape: value.shape), gradientReady: gradientReady)
    }

    /// ``backward(seed:)`` with the per-leaf readiness callback of ``backward(gradientReady:)``.
    @_specialize(where Scalar == Float)
    @_specialize(where Scalar == Double)
    public func backward(seed: Tensor<Scalar>, gradientReady: (Variable) -> Void) {
        guard requiresGradient else { return }
        let order = Array(topologicalOrder().reversed())
        // The position in `order` of each leaf's last consumer (later consumers overwrite earlier),
        // then the leaves that become ready after each position, in the order the node lists them.
        var lastConsumer: [ObjectIdentifier: Int] = [:]
        for (position, node) in order.enumerated() {
            for input in node.inputs where input.pullback == nil && input.requiresGradient {
                lastConsumer[ObjectIdentifier(input)] = position
            }
        }
        var readyAfter = [[Variable]](repeating: [], count: order.count)
        for (position, node) in order.enumerated() {
            for input in node.inputs where lastConsumer[ObjectIdentifier(input)] == position {
                lastConsumer[ObjectIdentifier(input)] = -1  // a leaf listed twice by one node is reported once
                readyAfter[position].append(input)
            }
        }
        accumulate(seed)
        if pullback == nil { gradientReady(self); return }
        for (position, node) in order.enumerated() {
            if let pullback = node.pullback {
                if var g = node.grad.take() { pullback(&g) }
                node.pullback = nil
                node.inputs = []
            }
            for leaf in readyAfter[position] { gradientReady(leaf) }
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
