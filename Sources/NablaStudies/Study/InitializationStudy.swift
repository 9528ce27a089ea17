import NablaNN

/// Seed 004's initialization study: the same MLP with `normal(0, 1)` weights, with Xavier and
/// Kaiming initialization, and with `normal(0, 1)` weights plus BatchNorm.
///
/// With `N(0, 1)` weights a layer of `n` inputs multiplies the activation scale by about `√(n/2)`
/// (ReLU halves the second moment), so the logits of a 784-256-256-256-10 net are in the
/// thousands: the softmax saturates, the loss starts enormous and training crawls. Xavier
/// (`σ² = 2/(fan_in + fan_out)`) and Kaiming (`σ² = 2/fan_in`, for ReLU) keep the scale constant;
/// BatchNorm re-normalizes every layer whatever the weights' scale, so even `N(0, 1)` weights train.
public enum InitializationStudy {
    /// The runs, in report order.
    public static func plans(_ c: RegularizationStudyConfiguration, inputShape: [Int], classCount: Int) -> [StudyRunPlan] {
        let cases: [(String, String, String, WeightInitialization, Bool)] = [
            ("init-normal", "normal(0,1)", "Weights drawn from N(0, 1), biases zero: activations explode layer by layer.",
             .standardNormal, false),
            ("init-xavier", "Xavier normal", "Xavier/Glorot normal weights, σ = √(2/(fan_in + fan_out)), biases zero.",
             .xavierNormal, false),
            ("init-kaiming", "Kaiming normal", "Kaiming/He normal weights for ReLU, σ = √2/√fan_in, biases zero.",
             .kaimingNormal, false),
            ("init-normal-batchnorm", "normal(0,1) + BatchNorm", "N(0, 1) weights with BatchNorm1d before every ReLU.",
             .standardNormal, true),
        ]
        return cases.map { key, name, summary, initialization, batchNorm in
            var plan = StudyRunPlan(key: key, name: name, summary: summary,
                                    model: StudyModels.mlp(inputShape: inputShape, outputCount: classCount, hidden: c.hidden,
                                                           batchNorm: batchNorm),
                                    optimizer: c.initializationOptimizer, epochs: c.initializationEpochs,
                                    batchSize: c.batchSize, seed: c.seed)
            plan.initialization = initialization
            plan.clipNorm = c.initializationClipNorm
            plan.validationFraction = c.validationFraction
            return plan
        }
    }

    /// A paragraph for the report.
    public static let explanation = "The same MLP trained from N(0, 1) weights, from Xavier and Kaiming initialization, and from "
        + "N(0, 1) weights with BatchNorm before every ReLU (SGD with momentum and the same gradient clipping for all four, so the "
        + "N(0, 1) net's enormous first gradients cannot blow it up). With N(0, 1) weights every layer multiplies the activation "
        + "scale by about √(fan_in/2): the logits are in the thousands and training crawls; BatchNorm re-normalizes every layer "
        + "whatever the weights' scale."

    /// The first epoch (1-based) whose training loss is at most `target`, or `nil`.
    public static func epochsToReach(_ target: Double, in run: StudyRun) -> Int? {
        run.epochs.first { $0.trainLoss <= target }?.epoch
    }
}
