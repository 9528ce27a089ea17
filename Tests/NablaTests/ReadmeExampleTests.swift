import XCTest
import Nabla

/// The README's Swift examples, verbatim, so the README cannot drift from the API.
final class ReadmeExampleTests: XCTestCase {
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
        print("test accuracy:", accuracy)
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
        print(result.epochs.last!.testAccuracy!)
        XCTAssertGreaterThan(result.epochs.last!.testAccuracy!, 0.9)
    }
}
