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
}
