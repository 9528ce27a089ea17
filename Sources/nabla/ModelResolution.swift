import ArgumentParser
import Foundation
import Nabla

/// Options that size built-in models.
struct ArchitectureOptions: ParsableArguments {
    @Option(name: .long, help: "Normalization in fcnet blocks: batchnorm, layernorm or none.")
    var norm: String?

    @Option(name: .long, help: "Dropout probability in fcnet/line-mlp blocks.")
    var dropout: Double?

    func validate() throws {
        if let dropout, !(dropout >= 0 && dropout <= 1) { throw ValidationError("--dropout \(dropout) is out of range [0, 1]") }
        if let norm, !["batchnorm", "layernorm", "none"].contains(norm.lowercased()) {
            throw ValidationError("--norm \(norm): expected batchnorm, layernorm or none")
        }
    }

    var options: BuiltinModelOptions { BuiltinModelOptions(normalization: norm, dropout: dropout ?? 0) }
}

/// A built-in model name, or else a model file path (``BuiltinModels/resolve(_:inputShape:outputCount:options:)``).
func resolveModel(_ spec: String, inputShape: [Int], outputCount: Int, options: BuiltinModelOptions) throws -> ModelDescription {
    try BuiltinModels.resolve(spec, inputShape: inputShape, outputCount: outputCount, options: options)
}

/// Parses `1,28,28` into a shape of positive integers.
func parseShape(_ text: String, flag: String) throws -> [Int] {
    let parts = text.split(separator: ",").map { Int($0.trimmingCharacters(in: .whitespaces)) }
    guard !parts.isEmpty, parts.allSatisfy({ ($0 ?? 0) > 0 }) else {
        throw NablaError(.invalidArgument, "\(flag) \(text): expected positive integers separated by commas, e.g. 1,28,28")
    }
    return parts.map { $0! }
}
