import Foundation
import NablaTensor
import NablaIO

/// What a `--model` value is and which options it reads — checked before any data is loaded, so a
/// command line that names an unknown model, or gives an option the model would ignore, fails at
/// once as a usage error.
extension BuiltinModels {
    /// The built-in model `spec` names (`fcnet` for `fcnet:100,100`), or `nil` for anything else.
    public static func builtinName(_ spec: String) -> String? {
        let lower = spec.lowercased()
        if lower.hasPrefix("fcnet:") { return "fcnet" }
        return catalog.map(\.name).contains(lower) ? lower : nil
    }

    /// The model file extensions `--model` accepts.
    public static let fileExtensions = ["yaml", "yml", "json"]

    /// Checks `spec` without reading files or knowing the data: a built-in name (an `fcnet:` with
    /// valid widths), or a path with a model file extension.
    /// - Throws: ``NablaError`` naming the value and what `--model` accepts.
    public static func checkName(_ spec: String) throws {
        if builtinName(spec) != nil {
            // Any image large enough for every built-in: only the name and the fcnet widths can fail.
            _ = try description(spec, inputShape: [1, 16, 16], outputCount: 2)
            return
        }
        guard fileExtensions.contains(URL(fileURLWithPath: spec).pathExtension.lowercased()) else {
            let names = catalog.map(\.name).joined(separator: ", ")
            throw NablaError(.invalidArgument, "--model \(spec): not a built-in model (\(names)) nor a .yaml/.json model file")
        }
    }

    /// Whether `spec` reads `--norm` (the normalization of its blocks): `fcnet` only.
    public static func readsNormalization(_ spec: String) -> Bool { builtinName(spec) == "fcnet" }

    /// Whether `spec` reads `--dropout` (the dropout of its blocks): `fcnet` and `line-mlp`.
    public static func readsDropout(_ spec: String) -> Bool { ["fcnet", "line-mlp"].contains(builtinName(spec) ?? "") }

    /// Whether built-in `spec` has Dropout layers when built with dropout probability `dropout`
    /// (`nil` for a model file, whose layers are known only once it is read).
    public static func hasDropoutLayers(_ spec: String, dropout: Double) -> Bool? {
        switch builtinName(spec) {
        case "mlp"?, "convnet"?: return true
        case "fcnet"?, "line-mlp"?: return dropout > 0
        case .some: return false
        case nil: return nil
        }
    }

    /// The one-line reason an option does not apply to `spec`, naming what it would apply to.
    static func notApplicable(_ flag: String, appliesTo: String, _ spec: String) -> NablaError {
        let model = builtinName(spec) != nil ? "--model \(spec)" : "a model file (\(spec)), which lists its own layers"
        return NablaError(.invalidArgument, "\(flag) applies to \(appliesTo), not to \(model)")
    }

    /// Checks that `--norm` (`normalization`) and `--dropout` (`dropout`) are read by `spec`.
    /// - Throws: ``NablaError`` naming the option and the models it applies to.
    public static func checkOptions(_ spec: String, normalization: String?, dropout: Double?) throws {
        if normalization != nil && !readsNormalization(spec) {
            throw notApplicable("--norm", appliesTo: "fcnet:H1,H2,… models (lenet-bn, mlp, convnet and resnet have their own normalization)", spec)
        }
        if dropout != nil && !readsDropout(spec) {
            throw notApplicable("--dropout", appliesTo: "fcnet:H1,H2,… and line-mlp models (mlp and convnet have a fixed Dropout 0.5)", spec)
        }
    }
}

extension ModelDescription {
    /// The outputs of the weights in `tensors` for this model's last layer, when that layer is a
    /// `Linear` (`out_features`, the first dimension of `<index>.weight`): how many classes weights
    /// saved elsewhere were trained for, read without building the model.
    public func lastLinearOutputCount(in tensors: [String: SafeTensor]) -> Int? {
        guard let index = layers.indices.last, layers[index].type.lowercased() == "linear",
              let weight = tensors["\(index).weight"], weight.shape.count == 2 else { return nil }
        return weight.shape[0]
    }
}
