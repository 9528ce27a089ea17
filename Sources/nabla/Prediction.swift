import Foundation
import Nabla

/// The file formats `nabla predict --output` writes, by extension.
enum PredictionFormat: Equatable {
    case csv, json, npy, safetensors

    init?(path: String) {
        switch URL(fileURLWithPath: path).pathExtension.lowercased() {
        case "csv": self = .csv
        case "json": self = .json
        case "npy": self = .npy
        case "safetensors": self = .safetensors
        default: return nil
        }
    }
}

/// What a model predicts for a batch of samples: for a classifier the label (and class name) of
/// each, optionally every class's probability and the `K` most probable classes; for a regression
/// model its outputs. Written as CSV, JSON, `.npy` or `.safetensors` (``PredictCommand``).
///
/// A model is a classifier when it was trained with a classification loss (its metadata says), or,
/// for weights without metadata, when it has two or more outputs per sample. Probabilities are the
/// softmax of the outputs (`torch.softmax(logits, 1)`), or their sigmoid for a model trained with
/// `bce` (independent classes, `torch.sigmoid`); the label is the arg-max, ties to the lower index
/// (`torch.argmax`).
struct Prediction {
    /// The raw outputs `[N, C]` (`[N, D]` flattened per sample for regression).
    let outputs: Tensor<Float>
    let sampleNames: [String]
    /// The name of every output class, where known (an index where the model names fewer).
    let classNames: [String]?
    /// `nil` for a regression model.
    let labels: [Int]?
    /// `[N, C]`, when asked for or needed for the top K.
    let probabilities: Tensor<Float>?
    let writesProbabilities: Bool
    /// Per sample, the `K` most probable labels, most probable first.
    let top: [[Int]]?

    /// - Throws: ``NablaError`` for `--probs`/`--top-k` on a regression model, or a `K` larger than the class count.
    init(outputs raw: Tensor<Float>, sampleNames: [String], metadata: ModelMetadata, probabilities: Bool, topK: Int?) throws {
        let n = raw.shape[0]
        let width = raw.shape.dropFirst().reduce(1, *)
        outputs = raw.reshaped(to: [n, width])
        self.sampleNames = sampleNames
        let regressionLosses = ["mse", "l1", "smooth-l1"]
        let isClassifier = metadata.loss.map { !regressionLosses.contains($0) } ?? (raw.rank == 2 && width >= 2)
        guard isClassifier && raw.rank == 2 else {
            if probabilities || topK != nil {
                throw NablaError(.invalidArgument, "--probs and --top-k apply to a classifier; this model predicts \(width) value(s) per sample (loss \(metadata.loss ?? "unknown"))")
            }
            (classNames, labels, self.probabilities, writesProbabilities, top) = (nil, nil, nil, false, nil)
            return
        }
        if let topK, topK > width {
            throw NablaError(.invalidArgument, "--top-k \(topK): the model has only \(width) classes")
        }
        classNames = metadata.classNames.map { names in (0..<width).map { $0 < names.count ? names[$0] : String($0) } }
        labels = outputs.argmax(alongAxis: 1)
        writesProbabilities = probabilities
        if probabilities || topK != nil {
            self.probabilities = metadata.loss == "bce" ? outputs.map { 1 / (1 + Foundation.exp(-$0)) } : outputs.softmax(alongAxis: 1)
        } else {
            self.probabilities = nil
        }
        if let topK, let p = self.probabilities {
            top = (0..<n).map { i in
                let row = Array(p.scalars[(i * width)..<((i + 1) * width)])
                // Stable: among equal probabilities the lower label first, as the arg-max.
                return Array(row.indices.sorted { row[$0] > row[$1] || (row[$0] == row[$1] && $0 < $1) }.prefix(topK))
            }
        } else {
            top = nil
        }
    }

    var width: Int { outputs.shape[1] }

    /// The name of class `label`: its class name, else its index.
    func name(_ label: Int) -> String { classNames?[label] ?? String(label) }

    func probability(_ sample: Int, _ label: Int) -> Float { probabilities!.scalars[sample * width + label] }

    // MARK: CSV and JSON

    /// One row per sample, after a header.
    var csv: String {
        func field(_ s: String) -> String {
            s.contains(where: { $0 == "," || $0 == "\"" || $0.isNewline }) ? "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\"" : s
        }
        var header = ["sample"]
        guard let labels else {
            header += width == 1 ? ["y"] : (0..<width).map { "y\($0)" }
            var lines = [header.joined(separator: ",")]
            for i in 0..<sampleNames.count {
                lines.append(([field(sampleNames[i])] + (0..<width).map { "\(outputs.scalars[i * width + $0])" }).joined(separator: ","))
            }
            return lines.joined(separator: "\n") + "\n"
        }
        header.append("label")
        if classNames != nil { header.append("class") }
        if writesProbabilities { header += (0..<width).map { field("prob_" + name($0)) } }
        if let top, let k = top.first?.count {
            for r in 1...k { header += ["top\(r)_label"] + (classNames != nil ? ["top\(r)_class"] : []) + ["top\(r)_prob"] }
        }
        var lines = [header.joined(separator: ",")]
        for i in 0..<labels.count {
            var row = [field(sampleNames[i]), String(labels[i])]
            if classNames != nil { row.append(field(name(labels[i]))) }
            if writesProbabilities { row += (0..<width).map { "\(probability(i, $0))" } }
            for label in top?[i] ?? [] {
                row += [String(label)] + (classNames != nil ? [field(name(label))] : []) + ["\(probability(i, label))"]
            }
            lines.append(row.joined(separator: ","))
        }
        return lines.joined(separator: "\n") + "\n"
    }

    /// A JSON array with one object per sample: `sample`, `label`, `class`, `probs` (by class name,
    /// or a list without names), `top_k` (objects with `label`, `class`, `prob`); or `sample` and `y`.
    var json: String {
        var objects: [String] = []
        for i in 0..<sampleNames.count {
            var fields = ["\"sample\": " + jsonStringLiteral(sampleNames[i])]
            if let labels {
                fields.append("\"label\": \(labels[i])")
                if classNames != nil { fields.append("\"class\": " + jsonStringLiteral(name(labels[i]))) }
                if writesProbabilities {
                    let values = (0..<width).map { "\(probability(i, $0))" }
                    fields.append(classNames == nil ? "\"probs\": [" + values.joined(separator: ", ") + "]"
                                  : "\"probs\": {" + (0..<width).map { jsonStringLiteral(name($0)) + ": " + values[$0] }.joined(separator: ", ") + "}")
                }
                if let top {
                    let entries = top[i].map { label in
                        "{\"label\": \(label)" + (classNames != nil ? ", \"class\": " + jsonStringLiteral(name(label)) : "")
                            + ", \"prob\": \(probability(i, label))}"
                    }
                    fields.append("\"top_k\": [" + entries.joined(separator: ", ") + "]")
                }
            } else {
                fields.append("\"y\": [" + (0..<width).map { "\(outputs.scalars[i * width + $0])" }.joined(separator: ", ") + "]")
            }
            objects.append("  {" + fields.joined(separator: ", ") + "}")
        }
        return "[\n" + objects.joined(separator: ",\n") + "\n]\n"
    }

    // MARK: Files

    /// Writes the prediction to `url` in `format` (atomically).
    /// - Throws: ``NablaError`` (`.io`) when the file cannot be written.
    func write(to url: URL, format: PredictionFormat) throws {
        let n = sampleNames.count
        switch format {
        case .csv: try AtomicFile.write(Data(csv.utf8), to: url)
        case .json: try AtomicFile.write(Data(json.utf8), to: url)
        case .npy:
            let array: NumPyArray
            if labels == nil {
                array = NumPyArray(float32: outputs.scalars, shape: [n, width])
            } else if writesProbabilities {
                array = NumPyArray(float32: probabilities!.scalars, shape: [n, width])
            } else if let top {
                array = NumPyArray(int64: top.flatMap { $0.map(Int64.init) }, shape: [n, top.first?.count ?? 0])
            } else {
                array = NumPyArray(int64: labels!.map(Int64.init), shape: [n])
            }
            try array.write(to: url)
        case .safetensors:
            var file = SafeTensorsFile()
            file.tensors["y"] = SafeTensor(outputs)
            if let labels { file.tensors["label"] = SafeTensor(int64: labels.map(Int64.init), shape: [n]) }
            if writesProbabilities, let probabilities { file.tensors["probs"] = SafeTensor(probabilities) }
            if let top, let k = top.first?.count {
                file.tensors["top_k_labels"] = SafeTensor(int64: top.flatMap { $0.map(Int64.init) }, shape: [n, k])
                file.tensors["top_k_probs"] = SafeTensor(Tensor(shape: [n, k], scalars: (0..<n).flatMap { i in top[i].map { probability(i, $0) } }))
            }
            if let classNames, let data = try? JSONEncoder().encode(classNames) {
                file.metadata["class_names"] = String(decoding: data, as: UTF8.self)
            }
            try file.write(to: url)
        }
    }
}
