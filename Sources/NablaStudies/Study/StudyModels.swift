import NablaNN
import NablaOptim

/// The networks of the studies, as model descriptions (so each run's model file can be written out
/// and read back by `nabla train --model FILE`).
public enum StudyModels {
    static func layer(_ type: String, _ arguments: [String: LayerArgument] = [:]) -> LayerDescription {
        LayerDescription(type, arguments)
    }

    static func linear(_ i: Int, _ o: Int) -> LayerDescription {
        layer("Linear", ["in_features": .int(i), "out_features": .int(o)])
    }

    /// A fully connected ReLU network: `Flatten`, then per hidden width `Linear`, `[BatchNorm1d]`,
    /// `ReLU`, `[Dropout(p)]`, then `Linear` to `outputCount` (cs231n's FullyConnectedNet; the
    /// normalization sits before the nonlinearity as in Ioffe & Szegedy, 2015).
    public static func mlp(inputShape: [Int], outputCount: Int, hidden: [Int], batchNorm: Bool = false,
                           dropout: Double = 0) -> ModelDescription {
        var layers = [layer("Flatten")]
        var width = inputShape.reduce(1, *)
        for h in hidden {
            layers.append(linear(width, h))
            if batchNorm { layers.append(layer("BatchNorm1d", ["num_features": .int(h)])) }
            layers.append(layer("ReLU"))
            if dropout > 0 { layers.append(layer("Dropout", ["p": .double(dropout)])) }
            width = h
        }
        layers.append(linear(width, outputCount))
        var name = "MLP " + ([String(inputShape.reduce(1, *))] + hidden.map(String.init) + [String(outputCount)]).joined(separator: "-")
        if batchNorm { name += " + BatchNorm" }
        if dropout > 0 { name += " + Dropout(\(StudyRunPlan.format(dropout)))" }
        return ModelDescription(name: name, layers: layers, inputShape: inputShape)
    }

    /// A residual MLP with the parameters of ``mlp(inputShape:outputCount:hidden:batchNorm:dropout:)``
    /// for `hidden = [width] × (blocks + 1)`: `Flatten`, `Linear → width`, `ReLU`, then `blocks`
    /// residual blocks `x + DropPath(ReLU(Linear(x)))`, then `Linear` to `outputCount`.
    ///
    /// Stochastic depth (Huang et al., 2016) uses their linear decay rule: block `l` of `L` is dropped
    /// with probability `p_l = l/L · maxDropPath`.
    public static func residualMLP(inputShape: [Int], outputCount: Int, width: Int, blocks: Int,
                                   maxDropPath: Double = 0) -> ModelDescription {
        var layers = [layer("Flatten"), linear(inputShape.reduce(1, *), width), layer("ReLU")]
        for l in 1...max(1, blocks) {
            let p = maxDropPath * Double(l) / Double(max(1, blocks))
            let branch: [LayerArgument] = [
                .map(["Linear": .map(["in_features": .int(width), "out_features": .int(width)])]),
                .map(["ReLU": .map([:])]),
            ]
            var arguments: [String: LayerArgument] = ["layers": .list(branch)]
            if p > 0 { arguments["drop_path"] = .double(p) }
            layers.append(layer("Residual", arguments))
        }
        layers.append(linear(width, outputCount))
        var name = "Residual MLP \(inputShape.reduce(1, *))-\(width)-\(blocks)×[\(width)]-\(outputCount)"
        if maxDropPath > 0 { name += " + DropPath(≤\(StudyRunPlan.format(maxDropPath)))" }
        return ModelDescription(name: name, layers: layers, inputShape: inputShape)
    }

    static func conv(_ i: Int, _ o: Int, bias: Bool = true) -> LayerDescription {
        var arguments: [String: LayerArgument] = ["in_channels": .int(i), "out_channels": .int(o), "kernel_size": .int(3), "padding": .int(1)]
        if !bias { arguments["bias"] = .bool(false) }
        return layer("Conv2d", arguments)
    }

    /// A small convolutional net, the CNN regime's baseline: two blocks of `Conv 3×3 (pad 1)`,
    /// `[BatchNorm2d]`, `ReLU`, `MaxPool 2`, with `channels` filters, then `Flatten`,
    /// `Linear → hidden`, `[BatchNorm1d]`, `ReLU`, `[Dropout(p)]`, `Linear` to `outputCount` — the
    /// "2 conv + pooling (+ BN)" family of the Fashion-MNIST benchmark (Xiao et al., 2017).
    /// - Precondition: images `[C, H, W]` with H and W divisible by 4.
    public static func cnn(inputShape: [Int], outputCount: Int, channels: [Int] = [16, 32], hidden: Int = 128,
                           batchNorm: Bool = false, dropout: Double = 0) -> ModelDescription {
        precondition(inputShape.count == 3 && channels.count == 2, "StudyModels.cnn: needs [C, H, W] images and two channel counts")
        var layers: [LayerDescription] = []
        var c = inputShape[0]
        for o in channels {
            layers.append(conv(c, o))
            if batchNorm { layers.append(layer("BatchNorm2d", ["num_features": .int(o)])) }
            layers += [layer("ReLU"), layer("MaxPool2d", ["kernel_size": .int(2)])]
            c = o
        }
        layers += [layer("Flatten"), linear(c * (inputShape[1] / 4) * (inputShape[2] / 4), hidden)]
        if batchNorm { layers.append(layer("BatchNorm1d", ["num_features": .int(hidden)])) }
        layers.append(layer("ReLU"))
        if dropout > 0 { layers.append(layer("Dropout", ["p": .double(dropout)])) }
        layers.append(linear(hidden, outputCount))
        var name = "CNN " + channels.map(String.init).joined(separator: "-") + "-\(hidden)"
        if batchNorm { name += " + BatchNorm" }
        if dropout > 0 { name += " + Dropout(\(StudyRunPlan.format(dropout)))" }
        return ModelDescription(name: name, layers: layers, inputShape: inputShape)
    }

    /// A small residual convolutional net: `Conv 3×3 → width`, `BatchNorm2d`, `ReLU`, `MaxPool 2`,
    /// then `blocks` residual blocks `x + DropPath(BN(Conv(ReLU(BN(Conv(x))))))` each followed by
    /// `ReLU` (He et al., 2016), then global average pooling and `Linear` to `outputCount`.
    ///
    /// Stochastic depth (Huang et al., 2016) drops block `l` of `L` per sample with probability
    /// `p_l = l/L · maxDropPath` (their linear decay rule) in training; evaluation uses every block.
    public static func residualCNN(inputShape: [Int], outputCount: Int, width: Int = 16, blocks: Int = 2,
                                   maxDropPath: Double = 0) -> ModelDescription {
        precondition(inputShape.count == 3, "StudyModels.residualCNN: needs [C, H, W] images")
        func entry(_ l: LayerDescription) -> LayerArgument {
            .map([l.type: .map(l.arguments)])
        }
        var layers = [conv(inputShape[0], width), layer("BatchNorm2d", ["num_features": .int(width)]), layer("ReLU"),
                      layer("MaxPool2d", ["kernel_size": .int(2)])]
        for l in 1...max(1, blocks) {
            let p = maxDropPath * Double(l) / Double(max(1, blocks))
            let branch: [LayerArgument] = [
                entry(conv(width, width, bias: false)), entry(layer("BatchNorm2d", ["num_features": .int(width)])), entry(layer("ReLU")),
                entry(conv(width, width, bias: false)), entry(layer("BatchNorm2d", ["num_features": .int(width)])),
            ]
            var arguments: [String: LayerArgument] = ["layers": .list(branch)]
            if p > 0 { arguments["drop_path"] = .double(p) }
            layers += [layer("Residual", arguments), layer("ReLU")]
        }
        layers += [layer("AdaptiveAvgPool2d", ["output_size": .int(1)]), layer("Flatten"), linear(width, outputCount)]
        var name = "Residual CNN \(width)×\(blocks) blocks"
        if maxDropPath > 0 { name += " + DropPath(≤\(StudyRunPlan.format(maxDropPath)))" }
        return ModelDescription(name: name, layers: layers, inputShape: inputShape)
    }
}
