import Foundation
import NablaTensor

/// Options that shape some built-in models (`fcnet`'s normalization and dropout).
public struct BuiltinModelOptions: Sendable {
    /// `batchnorm`, `layernorm` or `nil`, for `fcnet`.
    public var normalization: String?
    /// Dropout probability after each hidden block of `fcnet` (0 = none).
    public var dropout: Double
    /// Options for `fcnet`: no normalization and no dropout by default.
    public init(normalization: String? = nil, dropout: Double = 0) {
        self.normalization = normalization
        self.dropout = dropout
    }
}

/// The models Nabla knows by name. Each is a ``ModelDescription`` — the same data a model file holds —
/// sized for the dataset's sample shape and class count, so a built-in name works wherever a file does.
public enum BuiltinModels {
    /// The names and one-line descriptions, for help and errors.
    public static let catalog: [(name: String, summary: String)] = [
        ("mlp", "Flatten, Linear→512, BN1d, ReLU, Dropout 0.5, Linear 512→512, BN1d, ReLU, Dropout 0.5, Linear→classes (SPEC benchmark)"),
        ("lenet", "LeNet-5: Conv 5×5 (pad 2)→6, ReLU, MaxPool 2, Conv 5×5→16, ReLU, MaxPool 2, Linear→120→84→classes"),
        ("lenet-bn", "LeNet-5 with BatchNorm after each convolution and the first Linear (LeCun et al. 1998; Ioffe & Szegedy 2015)"),
        ("convnet", "[Conv 3×3, BN2d, ReLU] 32, 32, MaxPool, 64, 64, MaxPool, Linear→256, ReLU, Dropout 0.5, Linear (SPEC benchmark)"),
        ("fcnet:H1,H2,…", "a fully connected net: Linear–[norm]–ReLU–[dropout] blocks of the given widths (--norm, --dropout)"),
        ("resnet", "a small residual net: Conv 16, BN, ReLU, 3 residual blocks with DropPath, global average pool, Linear"),
        ("resnet20", "He et al. 2016's CIFAR ResNet-20: Conv 16, BN, ReLU, 3 stages × 3 basic blocks (16, 32, 64 channels; stride 2 and a 1×1 projection shortcut entering stages 2 and 3), global average pool, Linear"),
        ("line-mlp", "an over-parameterized regression MLP: Linear 1→100, ReLU, 2×[Dropout, Linear 100→100, ReLU], Dropout, Linear 100→1"),
    ]

    /// The description of built-in model `name` for samples of `inputShape` and `outputCount` outputs
    /// (classes, or regression targets), or `nil` when `name` is not a built-in model.
    /// - Throws: ``/NablaTensor/NablaError`` for a malformed `fcnet:` width list or an input too small for the model.
    public static func description(
        _ name: String, inputShape: [Int], outputCount: Int, options: BuiltinModelOptions = .init()
    ) throws -> ModelDescription? {
        guard let features = ModelLimits.count(inputShape) else {
            throw NablaError(.invalidArgument, "model '\(name)': input shape \(inputShape) exceeds the limit of \(ModelLimits.maximumElementCount) elements")
        }
        func layer(_ type: String, _ args: [String: LayerArgument] = [:]) -> LayerDescription { LayerDescription(type, args) }
        func linear(_ i: Int, _ o: Int) -> LayerDescription { layer("Linear", ["in_features": .int(i), "out_features": .int(o)]) }
        func conv(_ i: Int, _ o: Int, _ k: Int, stride: Int = 1, padding: Int, bias: Bool = true) -> LayerDescription {
            var args: [String: LayerArgument] = ["in_channels": .int(i), "out_channels": .int(o), "kernel_size": .int(k), "padding": .int(padding)]
            if stride != 1 { args["stride"] = .int(stride) }
            if !bias { args["bias"] = .bool(false) }
            return layer("Conv2d", args)
        }
        /// He et al.'s basic block: conv 3×3 (stride) – BN – ReLU – conv 3×3 – BN, added to the input, or to a
        /// 1×1 strided projection + BN of it where the shape changes (their option B).
        func basicBlock(_ i: Int, _ o: Int, stride: Int) -> LayerDescription {
            func entry(_ d: LayerDescription) -> LayerArgument { .map([d.type: .map(d.arguments)]) }
            let body = [conv(i, o, 3, stride: stride, padding: 1, bias: false), layer("BatchNorm2d", ["num_features": .int(o)]),
                        layer("ReLU"), conv(o, o, 3, padding: 1, bias: false), layer("BatchNorm2d", ["num_features": .int(o)])]
            var args: [String: LayerArgument] = ["layers": .list(body.map(entry))]
            if stride != 1 || i != o {
                args["shortcut"] = .list([conv(i, o, 1, stride: stride, padding: 0, bias: false),
                                          layer("BatchNorm2d", ["num_features": .int(o)])].map(entry))
            }
            return layer("Residual", args)
        }
        func dropout(_ p: Double) -> LayerDescription { layer("Dropout", ["p": .double(p)]) }
        func image() throws -> (c: Int, h: Int, w: Int) {
            guard inputShape.count == 3 else {
                throw NablaError(.invalidArgument, "model '\(name)' needs image inputs [C, H, W], the data has samples of shape \(inputShape)")
            }
            return (inputShape[0], inputShape[1], inputShape[2])
        }
        let lower = name.lowercased()
        var layers: [LayerDescription]
        switch lower {
        case "mlp":
            layers = [layer("Flatten"), linear(features, 512), layer("BatchNorm1d", ["num_features": .int(512)]), layer("ReLU"), dropout(0.5),
                      linear(512, 512), layer("BatchNorm1d", ["num_features": .int(512)]), layer("ReLU"), dropout(0.5),
                      linear(512, outputCount)]
        case "lenet", "lenet-bn":
            let (c, h, w) = try image()
            let (h2, w2) = ((h / 2 - 4) / 2, (w / 2 - 4) / 2)
            guard h2 > 0 && w2 > 0 else {
                throw NablaError(.invalidArgument, "model '\(name)' needs images of at least 12×12, got \(h)×\(w)")
            }
            let bn = lower == "lenet-bn"
            func bn2d(_ n: Int) -> [LayerDescription] { bn ? [layer("BatchNorm2d", ["num_features": .int(n)])] : [] }
            layers = [conv(c, 6, 5, padding: 2)] + bn2d(6) + [layer("ReLU"), layer("MaxPool2d", ["kernel_size": .int(2)]),
                      conv(6, 16, 5, padding: 0)] + bn2d(16) + [layer("ReLU"), layer("MaxPool2d", ["kernel_size": .int(2)]),
                      layer("Flatten"), linear(16 * h2 * w2, 120)]
                + (bn ? [layer("BatchNorm1d", ["num_features": .int(120)])] : [])
                + [layer("ReLU"), linear(120, 84), layer("ReLU"), linear(84, outputCount)]
        case "convnet":
            let (c, h, w) = try image()
            guard h >= 4 && w >= 4 else { throw NablaError(.invalidArgument, "model 'convnet' needs images of at least 4×4, got \(h)×\(w)") }
            func block(_ i: Int, _ o: Int) -> [LayerDescription] {
                [conv(i, o, 3, padding: 1), layer("BatchNorm2d", ["num_features": .int(o)]), layer("ReLU")]
            }
            layers = block(c, 32) + block(32, 32) + [layer("MaxPool2d", ["kernel_size": .int(2)])]
                + block(32, 64) + block(64, 64) + [layer("MaxPool2d", ["kernel_size": .int(2)]), layer("Flatten"),
                   linear(64 * (h / 4) * (w / 4), 256), layer("ReLU"), dropout(0.5), linear(256, outputCount)]
        case "resnet":
            let (c, _, _) = try image()
            func residual(_ dropPath: Double) -> LayerDescription {
                let body: [LayerArgument] = [
                    .map(["Conv2d": .map(["in_channels": .int(16), "out_channels": .int(16), "kernel_size": .int(3), "padding": .int(1), "bias": .bool(false)])]),
                    .map(["BatchNorm2d": .map(["num_features": .int(16)])]),
                    .map(["ReLU": .map([:])]),
                    .map(["Conv2d": .map(["in_channels": .int(16), "out_channels": .int(16), "kernel_size": .int(3), "padding": .int(1), "bias": .bool(false)])]),
                    .map(["BatchNorm2d": .map(["num_features": .int(16)])]),
                ]
                return layer("Residual", ["layers": .list(body), "drop_path": .double(dropPath)])
            }
            layers = [conv(c, 16, 3, padding: 1), layer("BatchNorm2d", ["num_features": .int(16)]), layer("ReLU"),
                      residual(0.0), layer("ReLU"), residual(0.1), layer("ReLU"), residual(0.2), layer("ReLU"),
                      layer("AdaptiveAvgPool2d", ["output_size": .int(1)]), layer("Flatten"), linear(16, outputCount)]
        case "resnet20":
            let (c, h, w) = try image()
            guard h >= 4 && w >= 4 else { throw NablaError(.invalidArgument, "model 'resnet20' needs images of at least 4×4, got \(h)×\(w)") }
            layers = [conv(c, 16, 3, padding: 1, bias: false), layer("BatchNorm2d", ["num_features": .int(16)]), layer("ReLU")]
            for (stage, width) in [16, 32, 64].enumerated() {
                for block in 0..<3 {
                    let input = block > 0 ? width : [16, 16, 32][stage], stride = stage > 0 && block == 0 ? 2 : 1
                    layers += [basicBlock(input, width, stride: stride), layer("ReLU")]
                }
            }
            layers += [layer("AdaptiveAvgPool2d", ["output_size": .int(1)]), layer("Flatten"), linear(64, outputCount)]
        case "line-mlp":
            let p = options.dropout
            layers = [linear(features, 100), layer("ReLU")]
            for _ in 0..<2 { layers += (p > 0 ? [dropout(p)] : []) + [linear(100, 100), layer("ReLU")] }
            layers += (p > 0 ? [dropout(p)] : []) + [linear(100, outputCount)]
        default:
            guard lower.hasPrefix("fcnet:") else { return nil }
            let widths = lower.dropFirst(6).split(separator: ",", omittingEmptySubsequences: false).map { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard !widths.isEmpty, widths.allSatisfy({ ($0 ?? 0) > 0 }) else {
                throw NablaError(.invalidArgument, "model '\(name)': fcnet needs positive hidden widths, e.g. fcnet:100,100")
            }
            layers = [layer("Flatten")]
            var width = features
            for h in widths.map({ $0! }) {
                layers.append(linear(width, h))
                switch options.normalization?.lowercased() {
                case nil, "none"?: break
                case "batchnorm"?: layers.append(layer("BatchNorm1d", ["num_features": .int(h)]))
                case "layernorm"?: layers.append(layer("LayerNorm", ["normalized_shape": .int(h)]))
                case let other?:
                    throw NablaError(.invalidArgument, "--norm \(other): expected batchnorm, layernorm or none")
                }
                layers.append(layer("ReLU"))
                if options.dropout > 0 { layers.append(dropout(options.dropout)) }
                width = h
            }
            layers.append(linear(width, outputCount))
        }
        return ModelDescription(name: name, layers: layers, inputShape: inputShape)
    }
}

extension BuiltinModels {
    /// A built-in model by name (``description(_:inputShape:outputCount:options:)``), else a
    /// `.yaml`/`.yml`/`.json` model file at path `spec` — what `--model` accepts.
    /// - Throws: ``/NablaTensor/NablaError`` for a name that is neither, or an unreadable or malformed file.
    public static func resolve(_ spec: String, inputShape: [Int], outputCount: Int,
                               options: BuiltinModelOptions = .init()) throws -> ModelDescription {
        if let builtin = try description(spec, inputShape: inputShape, outputCount: outputCount, options: options) {
            return builtin
        }
        let url = URL(fileURLWithPath: spec)
        guard ["yaml", "yml", "json"].contains(url.pathExtension.lowercased()) else {
            let names = catalog.map(\.name).joined(separator: ", ")
            throw NablaError(.invalidArgument, "--model \(spec): not a built-in model (\(names)) nor a .yaml/.json model file")
        }
        return try ModelDescription.read(from: url)
    }
}
