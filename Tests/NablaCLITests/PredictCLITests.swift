import Foundation
import XCTest
@testable import NablaTensor
@testable import NablaIO
@testable import NablaNN
@testable import NablaData
@testable import NablaTraining
import NablaTestSupport

/// `nabla predict` answers the question — classes by default (names where known), `--probs`,
/// `--top-k`, in CSV, JSON, `.npy` or `.safetensors` — and, like `evaluate`, applies the
/// preprocessing the weights carry (layers, input shape, normalization, class names).
final class PredictCLITests: XCTestCase {
    var directory: URL!

    override func setUpWithError() throws {
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: CLI.executable.path),
                          "NOTICE: the nabla executable is not built at \(CLI.executable.path)")
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("nabla-predict-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { if let directory { try? FileManager.default.removeItem(at: directory) } }

    func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    /// Three well-separated clusters far from the origin (so normalization matters), labelled by
    /// name, in a CSV with a header; `rows` per class.
    func writeFlowers(_ name: String, rows: Int = 30, species: [String] = ["setosa", "versicolor", "virginica"]) throws {
        var lines = ["length,width,species"]
        for i in 0..<rows {
            for label in species {
                let centers: [String: Double] = ["setosa": 100, "versicolor": 110, "virginica": 120]
                let center = centers[label] ?? 130
                lines.append("\(center + Double(i % 5) * 0.3),\(50 - center / 10 + Double(i % 3) * 0.2),\(label)")
            }
        }
        try (lines.joined(separator: "\n") + "\n").write(toFile: path(name), atomically: true, encoding: .utf8)
    }

    /// Trains fcnet on the flowers with `--normalize` and saves `w.safetensors`.
    func trainFlowers() throws {
        try writeFlowers("flowers.csv")
        let r = try CLI.run(["train", "--model", "fcnet:16", "--data", path("flowers.csv"), "--normalize", "--epochs", "30",
                             "--batch-size", "16", "--optimizer", "adam", "--lr", "0.05", "--quiet", "--save", path("w.safetensors")])
        XCTAssertEqual(r.status, 0, r.stderr)
    }

    /// The model's outputs on `x`, computed here from the weights file: normalization, then layers.
    func referenceOutputs(_ x: Tensor<Float>) throws -> Tensor<Float> {
        let (_, metadata) = try ModelMetadata.read(from: directory.appendingPathComponent("w.safetensors"))
        var generator = RandomGenerator(seed: 0)
        let model = try XCTUnwrap(metadata.model).build(inputShape: try XCTUnwrap(metadata.inputShape), using: &generator).model
        try model.load(from: directory.appendingPathComponent("w.safetensors"))
        let normalized = try XCTUnwrap(metadata.normalization).applied(to: x)
        return model.evaluating { model(Variable(normalized)).value }
    }

    func testClassesProbabilitiesAndTopKInEveryFormat() throws {
        try trainFlowers()
        try "length,width\n100.3,40\n119.7,38.2\n110,39\n".write(toFile: path("new.csv"), atomically: true, encoding: .utf8)
        let x = Tensor<Float>(shape: [3, 2], scalars: [100.3, 40, 119.7, 38.2, 110, 39])
        let reference = try referenceOutputs(x)
        let labels = reference.argmax(alongAxis: 1)
        XCTAssertEqual(labels, [0, 2, 1], "the model learned the clusters")
        let names = ["setosa", "versicolor", "virginica"]

        // Default: CSV on standard output, the class by name.
        let plain = try CLI.run(["predict", "--weights", path("w.safetensors"), "--input", path("new.csv")])
        XCTAssertEqual(plain.status, 0, plain.stderr)
        XCTAssertEqual(plain.stdout, "sample,label,class\n0,0,setosa\n1,2,virginica\n2,1,versicolor\n")
        // The training file itself, its label column left out.
        let again = try CLI.run(["predict", "--weights", path("w.safetensors"), "--input", path("flowers.csv"), "--target", "species"])
        XCTAssertEqual(again.status, 0, again.stderr)
        XCTAssertTrue(again.stdout.hasPrefix("sample,label,class\n0,0,setosa\n1,1,versicolor\n2,2,virginica\n"), again.stdout)

        let probabilities = reference.softmax(alongAxis: 1)
        let csv = try CLI.run(["predict", "--weights", path("w.safetensors"), "--input", path("new.csv"), "--probs", "--top-k", "2",
                               "--output", path("p.csv")])
        XCTAssertEqual(csv.status, 0, csv.stderr)
        let rows = try String(contentsOfFile: path("p.csv"), encoding: .utf8).split(separator: "\n").map { $0.split(separator: ",").map(String.init) }
        XCTAssertEqual(rows[0], ["sample", "label", "class", "prob_setosa", "prob_versicolor", "prob_virginica",
                                 "top1_label", "top1_class", "top1_prob", "top2_label", "top2_class", "top2_prob"])
        for i in 0..<3 {
            let p = (0..<3).map { Float(rows[i + 1][3 + $0])! }
            XCTAssertEqual(p, Array(probabilities.scalars[(3 * i)..<(3 * i + 3)]))
            XCTAssertEqual(rows[i + 1][6], String(labels[i]))
            XCTAssertEqual(rows[i + 1][7], names[labels[i]])
            XCTAssertGreaterThanOrEqual(Float(rows[i + 1][8])!, Float(rows[i + 1][11])!)
        }

        let json = try CLI.run(["predict", "--weights", path("w.safetensors"), "--input", path("new.csv"), "--probs", "--top-k", "3",
                                "--output", path("p.json")])
        XCTAssertEqual(json.status, 0, json.stderr)
        let objects = try XCTUnwrap(JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: path("p.json")))) as? [[String: Any]])
        XCTAssertEqual(objects.map { $0["class"] as? String }, ["setosa", "virginica", "versicolor"])
        XCTAssertEqual(objects.map { $0["sample"] as? String }, ["0", "1", "2"])
        let probs = try XCTUnwrap(objects[1]["probs"] as? [String: Double])
        XCTAssertEqual(probs.values.reduce(0, +), 1, accuracy: 1e-5)
        XCTAssertEqual((objects[1]["top_k"] as? [[String: Any]])?.map { $0["class"] as? String }.first, "virginica")

        for (flags, expected) in [([String](), NumPyArray(int64: labels.map(Int64.init), shape: [3])),
                                  (["--probs"], NumPyArray(float32: probabilities.scalars, shape: [3, 3]))] {
            let r = try CLI.run(["predict", "--weights", path("w.safetensors"), "--input", path("new.csv"), "--output", path("p.npy")] + flags)
            XCTAssertEqual(r.status, 0, r.stderr)
            XCTAssertEqual(try NumPyArray.read(from: directory.appendingPathComponent("p.npy")), expected)
        }
        let top = try CLI.run(["predict", "--weights", path("w.safetensors"), "--input", path("new.csv"), "--output", path("t.npy"), "--top-k", "1"])
        XCTAssertEqual(top.status, 0, top.stderr)
        XCTAssertEqual(try NumPyArray.read(from: directory.appendingPathComponent("t.npy")).integers(), labels)

        let st = try CLI.run(["predict", "--weights", path("w.safetensors"), "--input", path("new.csv"), "--output", path("p.safetensors"),
                              "--probs", "--top-k", "2"])
        XCTAssertEqual(st.status, 0, st.stderr)
        let file = try SafeTensorsFile.read(from: directory.appendingPathComponent("p.safetensors"))
        XCTAssertEqual(file.tensor("y", as: Float.self), reference)
        XCTAssertEqual(file.ints("label"), labels)
        XCTAssertEqual(file.tensor("probs", as: Float.self), probabilities)
        XCTAssertEqual(file.tensors["top_k_labels"]?.shape, [3, 2])
        XCTAssertEqual(file.metadata["class_names"], "[\"setosa\",\"versicolor\",\"virginica\"]")

        // Inputs that do not fit, options that do not apply.
        try "a,b,c\n1,2,3\n".write(toFile: path("wide.csv"), atomically: true, encoding: .utf8)
        let wide = try CLI.run(["predict", "--weights", path("w.safetensors"), "--input", path("wide.csv")])
        XCTAssertEqual(wide.status, 1)
        XCTAssertEqual(wide.stderr, "nabla: \(path("w.safetensors")): the model was trained on samples of shape [2], the data has [3]\n")
        let tooMany = try CLI.run(["predict", "--weights", path("w.safetensors"), "--input", path("new.csv"), "--top-k", "4"])
        XCTAssertEqual(tooMany.stderr, "nabla: --top-k 4: the model has only 3 classes\n")
        let other = try CLI.run(["predict", "--weights", path("w.safetensors"), "--input", path("new.csv"), "--model", "fcnet:32"])
        XCTAssertEqual(other.status, 1)
        XCTAssertTrue(other.stderr.contains("--model fcnet:32: is not the model saved with"), other.stderr)
        let same = try CLI.run(["predict", "--weights", path("w.safetensors"), "--input", path("new.csv"), "--model", "fcnet:16"])
        XCTAssertEqual(same.stdout, plain.stdout, same.stderr)
    }

    /// Weights without metadata (a PyTorch state dict) need `--model`; their class count is read
    /// from the last layer's weights, and no normalization is applied.
    func testWeightsWithoutMetadataNeedTheModel() throws {
        try trainFlowers()
        var plain = try SafeTensorsFile.read(from: directory.appendingPathComponent("w.safetensors"))
        plain.metadata = [:]
        try plain.write(to: directory.appendingPathComponent("torch.safetensors"))
        try "length,width\n1,2\n".write(toFile: path("new.csv"), atomically: true, encoding: .utf8)
        let missing = try CLI.run(["predict", "--weights", path("torch.safetensors"), "--input", path("new.csv")])
        XCTAssertEqual(missing.status, 1)
        XCTAssertTrue(missing.stderr.contains("carries no model description (not saved by nabla train); name the model with --model"), missing.stderr)
        let named = try CLI.run(["predict", "--weights", path("torch.safetensors"), "--input", path("new.csv"), "--model", "fcnet:16", "--probs"])
        XCTAssertEqual(named.status, 0, named.stderr)
        XCTAssertTrue(named.stdout.hasPrefix("sample,label,prob_0,prob_1,prob_2\n"), named.stdout)
    }

    /// A regression model writes its outputs; `--probs` is an error for it.
    func testRegressionPredictsValues() throws {
        let train = try CLI.run(["train", "--model", "line-mlp", "--data", "synthetic:line?n=50", "--loss", "mse", "--epochs", "20",
                                 "--optimizer", "adam", "--lr", "0.01", "--quiet", "--save", path("line.safetensors")])
        XCTAssertEqual(train.status, 0, train.stderr)
        try "x\n0\n1\n".write(toFile: path("x.csv"), atomically: true, encoding: .utf8)
        let r = try CLI.run(["predict", "--weights", path("line.safetensors"), "--input", path("x.csv")])
        XCTAssertEqual(r.status, 0, r.stderr)
        let lines = r.stdout.split(separator: "\n")
        XCTAssertEqual(lines.first, "sample,y")
        XCTAssertEqual(lines.count, 3)
        let probs = try CLI.run(["predict", "--weights", path("line.safetensors"), "--input", path("x.csv"), "--probs"])
        XCTAssertEqual(probs.status, 1)
        XCTAssertTrue(probs.stderr.contains("--probs and --top-k apply to a classifier"), probs.stderr)
    }

    /// `evaluate` applies the saved normalization and matches a test file's classes by name: a file
    /// holding only two of the three classes, in another order, is evaluated as the model sees them.
    func testEvaluateUsesTheSavedPreprocessing() throws {
        try writeFlowers("flowers.csv")
        let train = try CLI.run(["train", "--model", "fcnet:16", "--data", path("flowers.csv"), "--normalize", "--epochs", "30",
                                 "--batch-size", "16", "--optimizer", "adam", "--lr", "0.05", "--quiet", "--save", path("w.safetensors")])
        XCTAssertEqual(train.status, 0, train.stderr)
        let trainLoss = try XCTUnwrap(train.stdout.split(separator: "\t").first { $0.hasPrefix("train_loss=") }).dropFirst(11)
        let same = try CLI.run(["evaluate", "--weights", path("w.safetensors"), "--data", path("flowers.csv")])
        XCTAssertEqual(same.stdout, "loss=\(trainLoss) accuracy=1.0000\n", same.stderr)

        try writeFlowers("two.csv", rows: 4, species: ["virginica", "setosa"])
        let two = try CLI.run(["evaluate", "--weights", path("w.safetensors"), "--data", path("two.csv")])
        XCTAssertEqual(two.status, 0, two.stderr)
        XCTAssertTrue(two.stdout.hasSuffix("accuracy=1.0000\n"), two.stdout)
        try writeFlowers("odd.csv", rows: 2, species: ["setosa", "tulip"])
        let odd = try CLI.run(["evaluate", "--weights", path("w.safetensors"), "--data", path("odd.csv")])
        XCTAssertEqual(odd.status, 1)
        XCTAssertTrue(odd.stderr.contains("class 'tulip' is not one of the model's classes (setosa, versicolor, virginica)"), odd.stderr)
        let raw = try CLI.run(["evaluate", "--weights", path("w.safetensors"), "--data", path("flowers.csv"), "--dropout-mode", "vanilla"])
        XCTAssertEqual(raw.status, 1)
        XCTAssertTrue(raw.stderr.contains("the model was trained with inverted dropout"), raw.stderr)
    }
}
