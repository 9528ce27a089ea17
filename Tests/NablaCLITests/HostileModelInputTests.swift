import Foundation
import XCTest
@testable import NablaTensor
@testable import NablaIO
@testable import NablaNN
@testable import NablaOptim
@testable import NablaData
@testable import NablaTraining
@testable import NablaStudies
import NablaTestSupport

/// The second half of ``HostileInputTests``: hostile model files (unknown layers and arguments,
/// wrong types, shapes that do not chain, deep nesting, huge sizes, YAML bombs), checkpoints that are
/// truncated or belong to another run, initial weights of the wrong shape, and nonsense flags.
extension HostileInputTests {
    func modelCheckpointAndFlagCases() throws -> [HostileCase] {
        let data = ["--data", "synthetic:spirals?n=40", "--epochs", "1", "--quiet"]
        var cases: [HostileCase] = []
        func model(_ label: String, _ name: String, _ text: String, _ expected: String) throws {
            let file = try write(name, text)
            cases.append(HostileCase(label: label, arguments: ["train", "--model", file] + data, expected: "\(file): " + expected))
        }
        func flags(_ label: String, _ arguments: [String], _ expected: String) {
            cases.append(HostileCase(label: label, arguments: ["train", "--model", "fcnet:4"] + data + arguments, expected: expected))
        }

        // Model files (the spirals have 2 features and 3 classes).
        try model("model unknown layer", "unknown.yaml", "layers:\n  - Frobnicate: {}\n",
                  "layer 0 (Frobnicate): unknown layer type; known types:")
        try model("model unknown argument", "argument.yaml", "layers:\n  - Linear: {in_features: 2, out_features: 3, bais: true}\n",
                  "layer 0 (Linear): unknown argument 'bais' (accepted: bias, device, dtype, in_features, out_features)")
        try model("model wrongly typed argument", "typed.yaml", "layers:\n  - Linear: {in_features: two, out_features: 3}\n",
                  "layer 0 (Linear): argument 'in_features' must be an integer, got \"two\"")
        try model("model shapes do not chain", "chain.yaml",
                  "layers:\n  - Linear: {in_features: 2, out_features: 8}\n  - ReLU:\n  - Linear: {in_features: 16, out_features: 3}\n",
                  "layer 2 (Linear): expects inputs whose last axis has 16 features, but receives per-sample shape [8]")
        try model("model residual branch changes shape", "residual.yaml",
                  "layers:\n  - Residual:\n      layers:\n        - Linear: {in_features: 2, out_features: 5}\n  - Linear: {in_features: 2, out_features: 3}\n",
                  "layer 0 (Residual): the branch outputs per-sample shape [5] but the shortcut carries [2]")
        try model("model trillion out_features", "huge.yaml", "layers:\n  - Linear: {in_features: 2, out_features: 1000000000000}\n",
                  "layer 0 (Linear): weight 2 × 1000000000000 exceeds the limit of 100000000 elements")
        try model("model trillion num_features", "bn.yaml", "layers:\n  - BatchNorm1d: {num_features: 1000000000000}\n",
                  "layer 0 (BatchNorm1d): num_features 1000000000000 exceeds the limit")
        try model("model integer beyond Int64", "overflow.yaml", "layers:\n  - Linear: {in_features: 2, out_features: 99999999999999999999999}\n",
                  "line 2: integer '99999999999999999999999' is out of range or not supported")
        let bomb = (1...9).map { i in "l\(i): &l\(i) [" + Array(repeating: i == 1 ? "x" : "*l\(i - 1)", count: 10).joined(separator: ", ") + "]" }
        try model("model billion-laughs bomb", "bomb.yaml", bomb.joined(separator: "\n") + "\nlayers: *l9\n",
                  "the YAML document expands to more than 100000 nodes")
        try model("model deep nesting", "deep.yaml", "layers: " + String(repeating: "[", count: 500) + String(repeating: "]", count: 500) + "\n",
                  "the YAML document nests deeper than 100 levels")
        try model("model non-scalar key", "key.yaml", "layers:\n  - ? [Linear]\n    : {in_features: 2, out_features: 3}\n",
                  "line 2: a mapping key must be a plain string, not a list or map")
        try model("model YAML syntax error", "syntax.yaml", "layers:\n  - Linear: {in_features: 2, out_features: 3\n", "not valid YAML")
        try model("model layers not a list", "map.yaml", "layers: {Linear: {}}\n", "'layers' must be a list of one-key maps")
        try model("model empty layer list", "empty.yaml", "layers: []\n", "'layers' is empty")
        try model("model infinite JSON number", "inf.json", #"{"layers": [{"Dropout": {"p": 1e999}}]}"#, "not valid JSON")
        try model("model JSON integer beyond Int64", "uint.json", #"{"layers": [{"Linear": {"in_features": 18446744073709551615, "out_features": 3}}]}"#,
                  "holds a number that is not finite or does not fit a 64-bit integer")
        try model("model dropout probability 2", "dropout.yaml", "layers:\n  - Dropout: {p: 2}\n", "layer 0 (Dropout):")
        try model("model GroupNorm groups do not divide", "groups.yaml", "layers:\n  - GroupNorm: {num_groups: 3, num_channels: 2}\n",
                  "layer 0 (GroupNorm): GroupNorm: num_channels=2 is not divisible by num_groups=3")
        let binary = try write("binary.yaml", [0xFF, 0xFE, 0x00, 0x80])
        cases.append(HostileCase(label: "model not UTF-8", arguments: ["train", "--model", binary] + data,
                                 expected: "\(binary): cannot read model file (unreadable or not UTF-8)"))

        // Initial weights and checkpoints from a real run of the same command.
        let common = ["train", "--model", "fcnet:4", "--data", "synthetic:spirals?n=40", "--epochs", "1", "--quiet", "--lr", "0.1"]
        let run = try CLI.run(common + ["--checkpoint-dir", path("run"), "--save", path("fcnet4.safetensors")])
        XCTAssertEqual(run.status, 0, run.stderr)
        let wide = try CLI.run(common.map { $0 == "fcnet:4" ? "fcnet:8" : $0 } + ["--save", path("fcnet8.safetensors")])
        XCTAssertEqual(wide.status, 0, wide.stderr)
        cases.append(HostileCase(label: "init weights of another shape", arguments: common + ["--init", path("fcnet8.safetensors")],
                                 expected: "\(path("fcnet8.safetensors")): state dict key '"))
        var partial = try SafeTensorsFile.read(from: directory.appendingPathComponent("fcnet4.safetensors"))
        partial.tensors["3.bias"] = nil
        try partial.write(to: directory.appendingPathComponent("partial.safetensors"))
        cases.append(HostileCase(label: "init weights missing a key", arguments: common + ["--init", path("partial.safetensors")],
                                 expected: "\(path("partial.safetensors")): state dict is missing key '3.bias'"))
        let checkpoint = try [UInt8](Data(contentsOf: directory.appendingPathComponent("run/checkpoint.safetensors")))
        func resume(_ label: String, _ name: String, _ bytes: [UInt8], _ expected: String, arguments: [String] = common) throws {
            let file = try write("\(name)/checkpoint.safetensors", bytes)
            cases.append(HostileCase(label: label, arguments: arguments + ["--checkpoint-dir", path(name), "--resume"], expected: "\(file): " + expected))
        }
        try resume("checkpoint truncated", "cut", Array(checkpoint.prefix(checkpoint.count / 2)), "not a valid safetensors file")
        try resume("checkpoint of another run", "other", checkpoint, "checkpoint was written by a run with a different configuration",
                   arguments: common.map { $0 == "0.1" ? "0.2" : $0 })
        try resume("checkpoint that is plain weights", "plain", try [UInt8](Data(contentsOf: directory.appendingPathComponent("fcnet4.safetensors"))),
                   "not a Nabla checkpoint (no nabla.format metadata)")
        var future = try SafeTensorsFile.parse(checkpoint, name: "checkpoint")
        future.metadata["nabla.format"] = "99"
        try resume("checkpoint from a future format", "future", future.serialized(), "checkpoint format 99 is not supported (expected 1)")
        var reshaped = try Checkpoint.parse(checkpoint, name: "checkpoint")
        reshaped.model["1.weight"] = Tensor(zeros: [3, 3])
        try resume("checkpoint weights of another shape", "reshaped", reshaped.file().serialized(), "state dict key '1.weight' has shape [3, 3]")
        var clock = try SafeTensorsFile.parse(checkpoint, name: "checkpoint")
        clock.metadata["nabla.progress"] = "{\"epoch\": \"soon\"}"
        try resume("checkpoint with malformed progress", "progress", clock.serialized(), "checkpoint progress metadata is missing or malformed")

        // Flags: negative, zero, NaN, unknown choices.
        flags("batch size zero", ["--batch-size", "0"], "--batch-size 0 must be at least 1")
        flags("batch size negative", ["--batch-size=-5"], "--batch-size -5 must be at least 1")
        flags("validation split above one", ["--val-split", "1.5"], "--val-split 1.5 is out of range [0, 1)")
        flags("validation split NaN", ["--val-split", "nan"], "--val-split nan is out of range [0, 1)")
        flags("label smoothing NaN", ["--label-smoothing", "nan"], "--label-smoothing nan is out of range [0, 1]")
        flags("weight decay negative", ["--weight-decay=-1"], "Invalid weight_decay value: -1.0")
        flags("clip norm zero", ["--clip-norm", "0"], "--clip-norm must be positive")
        flags("clip value NaN", ["--clip-value", "nan"], "--clip-value nan must be a non-negative number")
        flags("unknown normalization", ["--norm", "batchnorn"], "--norm batchnorn: expected batchnorm, layernorm or none")
        flags("unknown dropout mode", ["--dropout-mode", "sideways"], "--dropout-mode sideways: expected inverted or vanilla")
        flags("unknown loss", ["--loss", "cosine"], "cosine")
        flags("train subset zero", ["--train-subset", "0"], "--train-subset 0 must be at least 1")
        flags("train subset beyond the data", ["--train-subset", "1000000"], "--train-subset 1000000: the training set has only")
        cases.append(HostileCase(label: "steps zero", arguments: ["train", "--model", "fcnet:4", "--data", "synthetic:spirals?n=40", "--quiet", "--steps", "0"],
                                 expected: "--steps 0 must be at least 1"))   // --steps replaces --epochs
        flags("negative seed", ["--seed=-1"], "-1")
        flags("early stop zero", ["--early-stop", "0"], "--early-stop 0 must be at least 1")
        flags("checkpoint every zero", ["--checkpoint-dir", path("every-zero"), "--checkpoint-every", "0"], "--checkpoint-every 0 must be at least 1")
        flags("infinite learning rate", ["--lr", "inf"], "--lr inf is not a finite number")
        cases.append(HostileCase(label: "synthetic sample count zero", arguments: ["train", "--model", "fcnet:4", "--data", "synthetic:spirals?n=0"],
                                 expected: "--data synthetic:spirals?n=0: n=0 is not an integer in"))
        cases.append(HostileCase(label: "unknown data parameter", arguments: ["train", "--model", "fcnet:4", "--data", path("t.csv") + "?colour=red"],
                                 expected: "unknown parameter 'colour'"))
        cases.append(HostileCase(label: "summary of an astronomically large input", arguments: ["summary", "mlp", "--input-shape", "10000000,10000000,10000000"],
                                 expected: "input shape [10000000, 10000000, 10000000] exceeds the limit of 100000000 elements"))
        return cases
    }
}
