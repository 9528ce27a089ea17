// Trains a model file that uses a layer defined in this package (`Swish`, from `CustomLayers`) on
// Nabla's spirals, after checking the layer's gradient. Exits with status 1 when the gradient check
// or the accuracy threshold fails, so `make example` (part of `make test`) is a real test.
import Foundation
import Nabla
import CustomLayers

/// The least test accuracy that counts as success (this run reaches 0.987).
let accuracyThreshold = 0.95

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("CustomModel: \(message)\n".utf8))
    exit(1)
}

do {
    // 1. The new layer's gradient against central differences, in Double.
    for check in SwishGradientCheck.run() {
        let verdict = check.error <= GradientCheckSuite.threshold ? "ok" : "FAILED"
        print("gradient check \(check.name): max relative error \(String(format: "%.1e", check.error)) \(verdict)")
        guard check.error <= GradientCheckSuite.threshold else {
            fail("gradient check \(check.name): error \(check.error) exceeds \(GradientCheckSuite.threshold)")
        }
    }

    // 2. A model file that names the new layer; building it prints one line per layer.
    LayerRegistry.registerCustomLayers()
    guard let modelFile = Bundle.module.url(forResource: "spiral-swish", withExtension: "yaml") else {
        fail("spiral-swish.yaml is missing from the resource bundle")
    }
    let description = try ModelDescription.read(from: modelFile)
    var generator = RandomGenerator(seed: 0)
    let built = try description.build(inputShape: description.inputShape ?? [2], using: &generator)
    print(built.summary)

    // 3. Train it with Nabla's Trainer on the spirals (cs231n's 3-class spiral, 300 points per split).
    let (train, test) = try DatasetSource.parse("synthetic:spirals").load(seed: 0)
    var configuration = TrainerConfiguration()
    configuration.epochs = 40
    configuration.quiet = true
    let trainer = try Trainer(model: built.model, optimizer: try Adam(built.model.parameters, learningRate: 0.01),
                              trainLoader: DataLoader(dataset: train, batchSize: 32, seed: 0),
                              test: test, configuration: configuration)
    trainer.onEpochEnd.append { report in
        guard report.epoch % 10 == 0 else { return }
        print("epoch \(report.epoch): train loss \(String(format: "%.4f", report.trainLoss)), "
              + "test accuracy \(String(format: "%.3f", report.testAccuracy ?? .nan))")
    }
    let result = try trainer.fit()

    // 4. The verdict.
    let accuracy = result.epochs.last?.testAccuracy ?? 0
    print("test accuracy \(String(format: "%.3f", accuracy)) (threshold \(accuracyThreshold)), "
          + "\(String(format: "%.2f", result.seconds)) s of training")
    guard accuracy >= accuracyThreshold else { fail("test accuracy \(accuracy) is below \(accuracyThreshold)") }
} catch {
    fail("\(error)")
}
