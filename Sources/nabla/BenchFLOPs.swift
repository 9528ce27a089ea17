import Nabla

/// The floating-point work of one training step of a built-in model, for `nabla bench`'s
/// `gflop_per_step` and the bound "FLOPs per step ÷ sgemm rate" that a step cannot beat.
///
/// Counts the multiply-adds (×2) of the convolutions and linear layers only — the products that
/// dominate every reference model; normalization, activations, pooling, the loss and the optimizer are
/// left out. Each such layer costs its forward product, its weight-gradient product (same size) and,
/// except the model's first layer (its input needs no gradient), its input-gradient product.
enum BenchFLOPs {
    /// FLOPs of one step of `description` on a batch of `batch` samples of `shape`.
    static func perStep(_ description: ModelDescription, batch: Int, shape: [Int]) -> Double {
        var first = true
        var shape = shape
        return Double(batch) * layers(description.layers, shape: &shape, first: &first)
    }

    /// Per-sample FLOPs of `layers`, updating `shape` ([C, H, W] or [features]) to their output.
    private static func layers(_ layers: [LayerDescription], shape: inout [Int], first: inout Bool) -> Double {
        var total = 0.0
        for layer in layers {
            let args = layer.arguments
            func pair(_ key: String, _ fallback: Int) -> (Int, Int) {
                switch args[key] {
                case .int(let v)?: return (v, v)
                case .list(let items)? where items.count == 2:
                    if case .int(let a) = items[0], case .int(let b) = items[1] { return (a, b) }
                    return (fallback, fallback)
                default: return (fallback, fallback)
                }
            }
            func int(_ key: String) -> Int? { if case .int(let v)? = args[key] { return v }; return nil }
            func product(_ multiplyAdds: Double) -> Double {
                defer { first = false }
                return 2 * multiplyAdds * (first ? 2 : 3)
            }
            switch layer.type {
            case "Conv2d":
                guard shape.count == 3, let out = int("out_channels") else { continue }
                let k = pair("kernel_size", 1), s = pair("stride", 1), p = pair("padding", 0)
                let h = (shape[1] + 2 * p.0 - k.0) / s.0 + 1, w = (shape[2] + 2 * p.1 - k.1) / s.1 + 1
                total += product(Double(out * h * w * shape[0] * k.0 * k.1))
                shape = [out, h, w]
            case "Linear":
                guard let out = int("out_features") else { continue }
                total += product(Double(shape.reduce(1, *) * out))
                shape = [out]
            case "MaxPool2d", "AvgPool2d":
                guard shape.count == 3 else { continue }
                let k = pair("kernel_size", 2), s = args["stride"] == nil ? k : pair("stride", 2)
                shape = [shape[0], (shape[1] - k.0) / s.0 + 1, (shape[2] - k.1) / s.1 + 1]
            case "AdaptiveAvgPool2d":
                guard shape.count == 3 else { continue }
                let size = pair("output_size", 1)
                shape = [shape[0], size.0, size.1]
            case "Flatten":
                shape = [shape.reduce(1, *)]
            case "Residual":
                var branchShape = shape, shortcutShape = shape
                if let body = args["layers"], let list = try? ModelDescription.layerList(body, context: "bench") {
                    total += Self.layers(list, shape: &branchShape, first: &first)
                }
                if let shortcut = args["shortcut"], shortcut != .null,
                   let list = try? ModelDescription.layerList(shortcut, context: "bench") {
                    total += Self.layers(list, shape: &shortcutShape, first: &first)
                }
                shape = branchShape
            default:
                continue
            }
        }
        return total
    }
}
