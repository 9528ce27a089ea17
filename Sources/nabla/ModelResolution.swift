import ArgumentParser
import Foundation
import Nabla

/// Options that size built-in models.
struct ArchitectureOptions: ParsableArguments {
    @Option(name: .long, help: "Normalization in fcnet blocks: batchnorm, layernorm or none.")
    var norm: String?

    @Option(name: .long, help: "Dropout probability in fcnet/line-mlp blocks.")
    var dropout: Double = 0

    func validate() throws {
        guard dropout >= 0 && dropout <= 1 else { throw ValidationError("--dropout \(dropout) is out of range [0, 1]") }
        if let norm, !["batchnorm", "layernorm", "none"].contains(norm.lowercased()) {
            throw ValidationError("--norm \(norm): expected batchnorm, layernorm or none")
        }
    }

    var options: BuiltinModelOptions { BuiltinModelOptions(normalization: norm, dropout: dropout) }
}

/// A built-in model name, or else a model file path.
func resolveModel(_ spec: String, inputShape: [Int], outputCount: Int, options: BuiltinModelOptions) throws -> ModelDescription {
    if let builtin = try BuiltinModels.description(spec, inputShape: inputShape, outputCount: outputCount, options: options) {
        return builtin
    }
    let url = URL(fileURLWithPath: spec)
    guard ["yaml", "yml", "json"].contains(url.pathExtension.lowercased()) else {
        let names = BuiltinModels.catalog.map(\.name).joined(separator: ", ")
        throw NablaError(.invalidArgument, "--model \(spec): not a built-in model (\(names)) nor a .yaml/.json model file")
    }
    return try ModelDescription.read(from: url)
}

/// Parses `1,28,28` into a shape of positive integers.
func parseShape(_ text: String, flag: String) throws -> [Int] {
    let parts = text.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
    guard !parts.isEmpty, parts.allSatisfy({ ($0 ?? 0) > 0 }) else {
        throw NablaError(.invalidArgument, "\(flag) \(text): expected positive integers separated by commas, e.g. 1,28,28")
    }
    return parts.map { $0! }
}
