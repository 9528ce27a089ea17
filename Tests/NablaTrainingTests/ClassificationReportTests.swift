import XCTest
@testable import NablaTensor
@testable import NablaIO
@testable import NablaNN
@testable import NablaData
@testable import NablaTraining
import NablaTestSupport

/// Top-k accuracy, confusion matrix, per-class precision/recall/F1 and the expected calibration
/// error against an independent PyTorch computation (Scripts/fixtures/gen_metrics.py, Guo et al.'s
/// ECE code), hand-worked cases, and the CSV forms.
final class ClassificationReportTests: XCTestCase {
    func testMatchesTheReferenceComputation() throws {
        let f = try Fixtures.load("metrics", "classification")
        let logits = f.tensor("logits", as: Float.self), labels = f.ints("labels")
        var report = ClassificationReport(classCount: 6)
        // In uneven batches: the report accumulates.
        for (start, end) in [(0, 7), (7, 150), (150, 300)] {
            report.add(scores: logits[start..<end], labels: Array(labels[start..<end]))
        }
        XCTAssertEqual(report.count, 300)
        XCTAssertEqual(report.confusion.map(Double.init), f.tensor("confusion", as: Double.self).scalars)
        XCTAssertEqual(report.support.map(Double.init), f.tensor("support", as: Double.self).scalars)
        assertClose(Tensor(report.precision), f.tensor("precision"), relative: 1e-12, absolute: 1e-15)
        assertClose(Tensor(report.recall), f.tensor("recall"), relative: 1e-12, absolute: 1e-15)
        assertClose(Tensor(report.f1), f.tensor("f1"), relative: 1e-12, absolute: 1e-15)
        let macro = report.macroAverage, weighted = report.weightedAverage
        assertClose(Tensor([macro.precision, macro.recall, macro.f1]), f.tensor("macro"), relative: 1e-12, absolute: 1e-15)
        assertClose(Tensor([weighted.precision, weighted.recall, weighted.f1]), f.tensor("weighted"), relative: 1e-12, absolute: 1e-15)
        assertClose(Tensor((1...5).map { report.accuracy(top: $0) }), f.tensor("topk"), relative: 1e-12, absolute: 1e-15)
        // Confidences come from Float logits here and Double there.
        XCTAssertEqual(report.expectedCalibrationError, f.tensor("ece", as: Double.self).scalar, accuracy: 1e-6)
        // Log-probabilities give the same report as logits.
        var fromLogProbabilities = ClassificationReport(classCount: 6)
        fromLogProbabilities.add(scores: logits.logSoftmax(alongAxis: 1), labels: labels)
        XCTAssertEqual(fromLogProbabilities.confusion, report.confusion)
        XCTAssertEqual(fromLogProbabilities.expectedCalibrationError, report.expectedCalibrationError, accuracy: 1e-6)
    }

    /// Four samples of three classes, worked by hand: class 2 is never predicted (precision 0, not
    /// NaN), a tie goes to the lower class, a perfectly confident right answer is calibrated.
    func testAHandWorkedCase() {
        var report = ClassificationReport(classCount: 3, maximumK: 2)
        let scores = Tensor<Float>(shape: [4, 3], scalars: [
            9, 0, 0,      // truth 0, predicted 0, confidence ≈ 1
            1, 1, 0,      // truth 1, tie between 0 and 1 → predicted 0; top-2 hit
            0, 2, 0,      // truth 2, predicted 1; label ranks after 1 (2 > 0) and ties 0 at a lower index → rank 2
            0, 5, 1,      // truth 1, predicted 1
        ])
        report.add(scores: scores, labels: [0, 1, 2, 1])
        XCTAssertEqual(report.confusion, [1, 0, 0,  1, 1, 0,  0, 1, 0])
        XCTAssertEqual(report.accuracy(top: 1), 0.5)
        XCTAssertEqual(report.accuracy(top: 2), 0.75)
        XCTAssertEqual(report.precision, [0.5, 0.5, 0])
        XCTAssertEqual(report.recall, [1, 0.5, 0])
        XCTAssertEqual(report.f1[0], 2 * 0.5 / 1.5, accuracy: 1e-15)
        XCTAssertEqual(report.f1[2], 0)
        XCTAssertEqual(report.support, [1, 2, 1])
        XCTAssertEqual(report.weightedAverage.recall, 0.5, accuracy: 1e-15, "(1·1 + 0.5·2 + 0·1)/4")
        // ECE by hand: bins of the four confidences.
        let e1: Double = exp(-1), e2: Double = exp(-2), e4: Double = exp(-4), e5: Double = exp(-5), e9: Double = exp(-9)
        let confidences: [Double] = [1 / (1 + 2 * e9), 1 / (2 + e1), 1 / (1 + 2 * e2), 1 / (1 + e5 + e4)]
        let correct = [true, false, false, true]
        var bins: [Int: (n: Double, confidence: Double, correct: Double)] = [:]
        for (c, ok) in zip(confidences, correct) {
            let b = Int((c * 15).rounded(.up)) - 1
            bins[b, default: (0, 0, 0)].n += 1
            bins[b]!.confidence += c
            bins[b]!.correct += ok ? 1 : 0
        }
        let ece = bins.values.reduce(0.0) { $0 + $1.n / 4 * abs($1.correct / $1.n - $1.confidence / $1.n) }
        XCTAssertEqual(report.expectedCalibrationError, ece, accuracy: 1e-6)
        XCTAssertEqual(report.perClassCSV(names: ["cat", "dog, big", "eel"]), """
            class,name,precision,recall,f1,support
            0,cat,0.500000,1.000000,0.666667,1
            1,"dog, big",0.500000,0.500000,0.500000,2
            2,eel,0.000000,0.000000,0.000000,1
            ,macro avg,0.333333,0.500000,0.388889,4
            ,weighted avg,0.375000,0.500000,0.416667,4

            """)
        XCTAssertEqual(report.confusionCSV(), "true\\predicted,0,1,2\n0,1,0,0\n1,1,1,0\n2,0,1,0\n")
        XCTAssertTrue(report.summaryCSV.contains("top2_accuracy,0.750000\n"), report.summaryCSV)
    }

    func testEvaluatingAModelMatchesAddingItsScores() throws {
        var plan = TrainingPlan(model: .init(name: "fcnet:8"), data: .init(spec: "synthetic:spirals?n=30"))
        plan.epochs = 1
        plan.output.quiet = true
        let session = try plan.prepare()
        let dataset = try XCTUnwrap(session.data.test)
        let report = ClassificationReport(evaluating: session.model, on: dataset, batchSize: 7)
        var manual = ClassificationReport(classCount: 3)
        guard case .classes(let labels, _) = dataset.targets else { return XCTFail() }
        manual.add(scores: session.model.evaluating { session.model(dataset.inputs) }, labels: labels)
        XCTAssertEqual(report, manual)
        XCTAssertEqual(report.accuracy(top: 1), evaluate(session.model, on: dataset, loss: session.loss).accuracy!, accuracy: 1e-12)
        XCTAssertEqual(report.maximumK, 3, "top-k stops at the class count")
    }
}
