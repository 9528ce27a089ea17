import XCTest
import Nabla

/// The README's Swift examples, verbatim, so the README cannot drift from the API.
final class ReadmeExampleTests: XCTestCase {
    /// Every line of the README's two Swift examples is a line of this file (the README's
    /// `fatalError()` stands for the tests' `return`, and the README shows no assertions).
    func testTheReadmeShowsTheseExamplesVerbatim() throws {
        let here = URL(fileURLWithPath: #filePath)
        let readme = try String(contentsOf: here.deletingLastPathComponent().appendingPathComponent("../../README.md"), encoding: .utf8)
        let source = Set(try String(contentsOf: here, encoding: .utf8).split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) })
        for heading in ["### A model, by hand", "### The same with the Trainer"] {
            let section = try XCTUnwrap(readme.components(separatedBy: heading + "\n").dropFirst().first, heading)
            let code = try XCTUnwrap(section.components(separatedBy: "```swift\n").dropFirst().first?.components(separatedBy: "```").first, heading)
            var lines = 0
            for line in code.split(separator: "\n").map({ $0.trimmingCharacters(in: .whitespaces) }) where !line.isEmpty {
                let expected = line.replacingOccurrences(of: "else { fatalError() }", with: "else { return }")
                XCTAssertTrue(source.contains(expected), "README (\(heading)): '\(line)' is not in ReadmeExampleTests.swift")
                lines += 1
            }
            XCTAssertGreaterThan(lines, 10, heading)
        }
    }

    func testHandWrittenLoop() throws {
        // README: "A model, by hand"
        let (train, testSplit) = try DatasetSource.parse("synthetic:spirals").load(seed: 0)
        let test = testSplit!                           // synthetic sets come with a test split
        manualSeed(0)
        let model = Sequential<Float>([
            Linear(2, 64), BatchNorm1d(64), ReLU(), Dropout(0.1),
            Linear(64, 64), ReLU(),
            Linear(64, 3),
        ])
        let optimizer = try Adam(model.parameters, learningRate: 0.01)
        let loader = DataLoader(dataset: train, batchSize: 32, seed: 0)

        for epoch in 0..<30 {
            model.train()
            for batch in loader.epoch(epoch) {
                guard case .classes(let labels, _) = batch.targets else { continue }
                optimizer.zeroGrad()
                let loss = crossEntropy(logits: model(Variable(batch.inputs)), labels: labels)
                loss.backward()
                optimizer.step()
            }
        }

        model.eval()
        let logits = model(test.inputs)                 // a Tensor in, a Tensor out: no graph is recorded
        guard case .classes(let truth, _) = test.targets else { return }
        let predicted = logits.argmax(alongAxis: 1)
        let accuracy = Double(zip(predicted, truth).filter { $0 == $1 }.count) / Double(truth.count)
        print("test accuracy:", accuracy)                // 0.947
        // README stops here; the test asserts the example really learns.
        XCTAssertGreaterThan(accuracy, 0.9)
    }

    func testTrainerLoop() throws {
        // README: "The same with the Trainer"
        let (train, test) = try DatasetSource.parse("synthetic:spirals").load(seed: 0)
        let description = try ModelDescription.parse("""
            layers:
              - Linear: {in_features: 2, out_features: 64}
              - ReLU: {}
              - Linear: {in_features: 64, out_features: 3}
            """, name: "spiral-net")
        var generator = RandomGenerator(seed: 0)
        let model = try description.build(inputShape: [2], using: &generator).model
        let optimizer = try SGD(model.parameters, learningRate: 0.1, momentum: 0.9, weightDecay: 5e-4)
        var configuration = TrainerConfiguration()
        configuration.epochs = 30
        configuration.penalty = .l2(lambda: 1e-4)
        configuration.quiet = true
        let trainer = try Trainer(model: model, optimizer: optimizer,
                                  trainLoader: DataLoader(dataset: train, batchSize: 32, seed: 0),
                                  test: test, configuration: configuration)
        let result = try trainer.fit()
        print(result.epochs.last!.testAccuracy!)        // 0.94
        XCTAssertGreaterThan(result.epochs.last!.testAccuracy!, 0.9)
    }
}
