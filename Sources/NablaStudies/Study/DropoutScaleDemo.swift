import NablaTensor
import NablaNN

/// Seed 004's demonstration of why dropout rescales: `Dropout(p = 0.5)` followed by a
/// `Linear(10000, 1, bias: false)` whose weights are all one, applied to a vector of ones.
///
/// In evaluation mode inverted dropout is the identity, so the output is exactly 10000. In training
/// mode each unit survives with probability `1 − p` and is scaled by `1/(1 − p)`, so the output is
/// `2·Binomial(10000, 0.5)`: about 10000 ± 100 for one pass (the seed printed 9942), and its mean
/// over many passes converges to the evaluation output. Vanilla dropout instead leaves training
/// outputs unscaled (≈ 5000) and multiplies by `1 − p` in evaluation (exactly 5000): the same
/// agreement of expectations, at the other scale.
public enum DropoutScaleDemo {
    /// The outputs of one dropout variant.
    public struct Row: Sendable, Equatable {
        /// The variant: inverted (scaled in training) or vanilla (scaled in evaluation).
        public var mode: DropoutMode
        /// Output of one training-mode pass.
        public var trainingPass: Double
        /// Mean output of ``Result/passes`` training-mode passes.
        public var trainingMean: Double
        /// Standard deviation of the training-mode outputs.
        public var trainingStandardDeviation: Double
        /// Output in evaluation mode.
        public var evaluation: Double
    }

    /// The outputs of both variants.
    public struct Result: Sendable, Equatable {
        /// The width of the all-ones input and of the all-ones weight row (10,000 by default).
        public var inputCount: Int
        /// The drop probability `p`.
        public var probability: Double
        /// The number of training-mode passes averaged.
        public var passes: Int
        /// One row per dropout variant, in `DropoutMode.allCases` order.
        public var rows: [Row]
    }

    /// Runs the demonstration for both dropout variants.
    public static func run(inputCount: Int = 10_000, probability: Double = 0.5, passes: Int = 200, seed: UInt64 = 0) -> Result {
        let rows = DropoutMode.allCases.map { mode -> Row in
            var generator = RandomGenerator(seed: seed, stream: 0xD50)
            let dropout = Dropout<Float>(probability, mode: mode, using: &generator)
            let linear = Linear<Float>(inputCount, 1, bias: false, using: &generator)
            linear.weight.value = Tensor(ones: [1, inputCount])
            let net = Sequential<Float>(dropout, linear)
            let x = Tensor<Float>(ones: [1, inputCount])
            net.train()
            let outputs = (0..<passes).map { _ in Double(net(x).scalars[0]) }
            let mean = outputs.reduce(0, +) / Double(passes)
            let variance = outputs.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(max(1, passes - 1))
            net.eval()
            let evaluation = Double(net(x).scalars[0])
            return Row(mode: mode, trainingPass: outputs[0], trainingMean: mean,
                       trainingStandardDeviation: variance.squareRoot(), evaluation: evaluation)
        }
        return Result(inputCount: inputCount, probability: probability, passes: passes, rows: rows)
    }

    /// The result as a report table.
    public static func table(_ result: Result) -> ReportTable {
        var table = ReportTable(columns: ["dropout", "training: one pass", "training: mean of \(result.passes)", "training: std",
                                          "evaluation"],
                                caption: "Dropout(p = \(StudyRunPlan.format(result.probability))) then Linear(\(result.inputCount), 1) with all weights 1, input all ones")
        for row in result.rows {
            table.append([.text(row.mode.rawValue), .number(row.trainingPass, .fixed(0)), .number(row.trainingMean, .fixed(1)),
                          .number(row.trainingStandardDeviation, .fixed(1)), .number(row.evaluation, .fixed(0))])
        }
        return table
    }
}
