import Foundation
import XCTest
import Nabla
@testable import NablaOptim
@testable import NablaData
import NablaTestSupport

/// `nabla train`'s optimizer flags come from one table (``OptimizerFlag``) and the registries:
/// `--help` lists every optimizer with its default learning rate and the flags it reads, and a
/// flag the chosen optimizer does not read is a one-line error naming the ones it does.
final class OptimizerFlagTests: XCTestCase {
    func testHelpListsEachOptimizerWithItsFlagsAndDefaultLearningRate() throws {
        let r = try CLI.run(["train", "--help"])
        XCTAssertEqual(r.status, 0, r.stderr)
        let help = r.stdout.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        // The built-ins: other tests in this process may have registered more.
        for registration in OptimizerRegistry.builtIns {
            let flags = OptimizerFlag.flags(of: registration).map { "--" + $0.flag }.joined(separator: " ")
            XCTAssertTrue(help.contains("\(registration.name) (\(registration.displayName)): "), registration.name)
            XCTAssertTrue(help.contains("; reads \(flags)."), "\(registration.name): \(flags)")
        }
        XCTAssertTrue(help.contains("sgd (SGD): stochastic gradient descent"))
        // nabla train's default learning rates, with their sources and the library's (torch.optim's) where it differs.
        XCTAssertTrue(help.contains("Default lr 0.1 (He et al. 2016 and Goyal et al. 2017); the library's (torch.optim's) is 0.001; reads --lr --momentum"), help)
        XCTAssertTrue(help.contains("Default lr 0.01 (Duchi et al. 2011, torch.optim's default); reads --lr --weight-decay --eps --lr-decay."), "adagrad")
        XCTAssertTrue(help.contains("Default lr 0.001 (Tieleman & Hinton 2012, Keras's default); the library's (torch.optim's) is 0.01;"), "rmsprop")
        XCTAssertTrue(help.contains("Default lr 0.001 (Kingma & Ba 2015, torch.optim's default); reads"), "adam")
        XCTAssertTrue(help.contains("--momentum <momentum> Momentum (sgd, rmsprop)."))
        for kind in ScheduleRegistry.builtIns { XCTAssertTrue(help.contains(kind.grammar), kind.grammar) }
        for form in DatasetRegistry.builtIns { XCTAssertTrue(help.contains(form.grammar), form.grammar) }
    }

    func testAFlagTheOptimizerDoesNotReadNamesTheFlagsItReads() throws {
        let common = ["train", "--model", "fcnet:8", "--data", "synthetic:spirals", "--epochs", "1", "--quiet"]
        let cases: [([String], String)] = [
            (["--betas", "0.9,0.99"], "nabla: --betas does not apply to --optimizer sgd (sgd reads --lr, --momentum, --dampening, --nesterov, --weight-decay)"),
            (["--optimizer", "Adam", "--centered"], "nabla: --centered does not apply to --optimizer adam (adam reads --lr, --weight-decay, --betas, --eps, --amsgrad, --decoupled-weight-decay)"),
            (["--optimizer", "adagrad", "--nesterov", "--momentum", "0.9"],
             "nabla: --momentum does not apply to --optimizer adagrad (adagrad reads --lr, --weight-decay, --eps, --lr-decay)"),
            (["--optimizer", "rmsprop", "--eps", "inf"], "nabla: --eps inf is not a finite number"),
            (["--optimizer", "adam", "--rho", "0.9"], "nabla: --rho does not apply to --optimizer adam (adam reads --lr, --weight-decay, --betas, --eps, --amsgrad, --decoupled-weight-decay)"),
            (["--optimizer", "lion", "--eps", "1e-8"], "nabla: --eps does not apply to --optimizer lion (lion reads --lr, --weight-decay, --betas)"),
            (["--optimizer", "radam", "--momentum-decay", "0.01"], "nabla: --momentum-decay does not apply to --optimizer radam (radam reads --lr, --weight-decay, --betas, --eps, --decoupled-weight-decay)"),
            (["--optimizer", "adadelta", "--rho", "1.5"], "nabla: Invalid rho value: 1.5"),
            (["--sam=-0.1"], "nabla: --sam -0.1 must be a non-negative number"),
            (["--lookahead", "0,0.5"], "nabla: --lookahead 0,0.5: K must be at least 1"),
            (["--lookahead", "5"], "nabla: --lookahead 5: expected K,ALPHA such as 5,0.5"),
            (["--schedule", "onecycle:0.1:2"], "nabla: --schedule onecycle:0.1:2: PCT_START must be between 0 and 1"),
            (["--optimizer", "adam", "--betas", "0.9,x"], "nabla: --betas 0.9,x: expected two numbers B1,B2"),
            (["--optimizer", "lion2"], "nabla: --optimizer lion2: expected one of sgd, adagrad, rmsprop, adam, adamw, adadelta, adamax, nadam, radam, lion, lamb"),
        ]
        for (arguments, expected) in cases {
            let r = try CLI.run(common + arguments)
            XCTAssertEqual(r.status, 2, "\(arguments): \(r.stderr)")
            XCTAssertEqual(r.stderr, expected + "\n", "\(arguments)")
        }
    }

    /// Names are case-insensitive, and the flags reach the optimizer under PyTorch's keys: the
    /// checkpoint's `param_groups` hold what the flags said and the optimizer's defaults otherwise.
    func testFlagsReachTheOptimizerUnderPyTorchKeys() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("nabla-flags-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let r = try CLI.run(["train", "--model", "fcnet:8", "--data", "synthetic:spirals?n=20", "--epochs", "1", "--quiet",
                             "--optimizer", "AdamW", "--lr", "0.02", "--betas", "0.8,0.9", "--amsgrad", "--decay-weights-only",
                             "--checkpoint-dir", directory.path])
        XCTAssertEqual(r.status, 0, r.stderr)
        let checkpoint = try SafeTensorsFile.read(from: directory.appendingPathComponent("checkpoint.safetensors"))
        func entry(_ key: String) -> [Double]? { checkpoint.tensors["optimizer." + key]?.tensor(as: Double.self).scalars }
        XCTAssertEqual(entry("param_groups.0.lr"), [0.02])
        XCTAssertEqual(entry("param_groups.0.betas"), [0.8, 0.9])
        XCTAssertEqual(entry("param_groups.0.amsgrad"), [1])
        XCTAssertEqual(entry("param_groups.0.weight_decay"), [0.01], "AdamW's default decay on the weights")
        XCTAssertEqual(entry("param_groups.1.weight_decay"), [0], "no decay on biases with --decay-weights-only")
        XCTAssertNil(entry("param_groups.0.decoupled_weight_decay"))
    }
}
