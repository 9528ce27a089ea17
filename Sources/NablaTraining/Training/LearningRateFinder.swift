import Foundation
import NablaTensor
import NablaNN
import NablaOptim
import NablaData

/// The learning-rate range test (Smith 2017, §3.3; fastai's `lr_find`): train for a few hundred
/// steps while the learning rate grows exponentially from `start` to `end`, record the smoothed
/// loss at each rate, and read a good rate off the curve. The model and the optimizer are restored
/// afterwards, so the sweep leaves them as it found them.
///
/// Step `i` of `n` uses `lr_i = start·(end/start)^(i/(n−1))` for every parameter group (groups keep
/// their ratios to group 0), then records the batch loss `L_i` and its bias-corrected exponential
/// average `S_i = A_i/(1 − β^(i+1))` with `A_i = β·A_{i−1} + (1 − β)·L_i`. The sweep stops early
/// once `S_i > divergence·min S` or the loss is not finite.
///
/// **Suggestion rule** (``LearningRateSweep/suggestion``): the rate at which the smoothed loss falls
/// fastest — the most negative finite-difference slope `dS/d(log₁₀ lr)` — among the points before
/// the minimum of `S`, skipping the first tenth of the sweep (whose losses are still smoothing in).
/// ``LearningRateSweep/minimumOverTen`` also reports the other common rule, a tenth of the rate at
/// the minimum.
///
/// Reference: Smith, "Cyclical Learning Rates for Training Neural Networks" (WACV 2017), §3.3.
public struct LearningRateFinder: Sendable {
    /// The first learning rate.
    public var start = 1e-7
    /// The last learning rate.
    public var end = 10.0
    /// The number of optimizer steps (points on the curve).
    public var steps = 100
    /// β of the loss smoothing.
    public var smoothing = 0.98
    /// Stop once the smoothed loss exceeds this multiple of its minimum.
    public var divergence = 4.0

    /// A sweep with the defaults above (fastai's).
    public init() {}

    /// Throws unless `0 < start < end`, both finite, `steps ≥ 2`, `0 ≤ smoothing < 1`, `divergence > 1`.
    public func validate() throws {
        guard start > 0, end > start, end.isFinite else {
            throw NablaError(.invalidArgument, "lr-find: needs 0 < start < end, got start \(start) and end \(end)")
        }
        guard steps >= 2 else { throw NablaError(.invalidArgument, "lr-find: needs at least 2 steps, got \(steps)") }
        guard smoothing >= 0 && smoothing < 1 else { throw NablaError(.invalidArgument, "lr-find: smoothing must be in [0, 1), got \(smoothing)") }
        guard divergence > 1 else { throw NablaError(.invalidArgument, "lr-find: divergence factor must be greater than 1, got \(divergence)") }
    }

    /// The learning rate of step `i`.
    public func learningRate(at i: Int) -> Double { start * Foundation.pow(end / start, Double(i) / Double(steps - 1)) }

    /// Runs the sweep on `model` with `optimizer` over batches of `loader` (continuing into later
    /// epochs when it needs more batches), minimizing `loss`, then restores the model's state dict
    /// and random generators and the optimizer's state dict.
    /// - Throws: ``NablaError`` for invalid settings; errors from restoring (which cannot happen for
    ///   state the model and optimizer wrote themselves).
    public func run(model: Module<Float>, optimizer: any Optimizer<Float>, loader: DataLoader,
                    loss: LossFunction, penalty: ParameterPenalty = .none) throws -> LearningRateSweep {
        try validate()
        let savedModel = model.stateDict(), savedGenerators = model.randomGeneratorStates()
        let savedOptimizer = optimizer.stateDict(), ratios = optimizer.learningRates.map { $0 / optimizer.learningRates[0] }
        defer {
            try? model.loadStateDict(savedModel)
            try? model.restoreRandomGenerators(savedGenerators)
            try? optimizer.loadStateDict(savedOptimizer)
        }
        let decayable = model.decayableParameters()
        func objective(_ batch: Batch) -> (data: Variable<Float>, total: Variable<Float>) {
            let data = loss(model(Variable(batch.inputs)), batch.targets)
            return (data, penalty == .none ? data : data + penalty(decayable))
        }
        model.train()
        var sweep = LearningRateSweep(rule: Self.rule)
        var average = 0.0, epoch = 0
        outer: while sweep.learningRates.count < steps {
            for batch in loader.epoch(epoch) {
                let i = sweep.learningRates.count
                guard i < steps else { break outer }
                let rate = learningRate(at: i)
                optimizer.learningRates = ratios.map { $0 * rate }
                optimizer.zeroGrad()
                let (data, total) = objective(batch)
                let value = Double(data.value.scalar)
                guard value.isFinite else {
                    sweep.stopReason = "the loss became \(value) at lr \(rate)"
                    break outer
                }
                total.backward()
                if let closureOptimizer = optimizer as? any ClosureOptimizer<Float> {
                    try closureOptimizer.step {
                        optimizer.zeroGrad()
                        objective(batch).total.backward()
                    }
                } else {
                    optimizer.step()
                }
                average = smoothing * average + (1 - smoothing) * value
                let smoothed = average / (1 - Foundation.pow(smoothing, Double(i + 1)))
                sweep.learningRates.append(rate)
                sweep.losses.append(value)
                sweep.smoothedLosses.append(smoothed)
                if let best = sweep.smoothedLosses.min(), smoothed > divergence * best {
                    sweep.stopReason = "the smoothed loss exceeded \(shortestDecimal(divergence))× its minimum at lr \(rate)"
                    break outer
                }
            }
            epoch += 1
        }
        return sweep
    }

    /// The suggestion rule, in words.
    public static let rule = "steepest descent of the smoothed loss in log(lr), before its minimum, skipping the first 10% of the sweep"
}

/// The curve of a ``LearningRateFinder`` run and what to read from it.
public struct LearningRateSweep: Sendable, Equatable {
    /// The learning rate of each step.
    public var learningRates: [Double] = []
    /// The raw batch loss of each step.
    public var losses: [Double] = []
    /// The bias-corrected exponential average of the losses.
    public var smoothedLosses: [Double] = []
    /// Why the sweep ended before its last step, if it did.
    public var stopReason: String?
    /// ``LearningRateFinder/rule``.
    public var rule: String

    /// The suggested learning rate (see ``LearningRateFinder``), or `nil` when the curve has fewer
    /// than 3 points before its minimum.
    public var suggestion: Double? {
        guard let minimumIndex = smoothedLosses.indices.min(by: { smoothedLosses[$0] < smoothedLosses[$1] }) else { return nil }
        let first = max(1, smoothedLosses.count / 10)
        guard minimumIndex > first else { return nil }
        var best: (slope: Double, index: Int)?
        for i in first..<minimumIndex {
            let slope = (smoothedLosses[i + 1] - smoothedLosses[i - 1]) / (log10(learningRates[i + 1]) - log10(learningRates[i - 1]))
            if slope < (best?.slope ?? 0) { best = (slope, i) }
        }
        return best.map { learningRates[$0.index] }
    }

    /// A tenth of the learning rate at the minimum of the smoothed loss (the other common rule).
    public var minimumOverTen: Double? {
        smoothedLosses.indices.min(by: { smoothedLosses[$0] < smoothedLosses[$1] }).map { learningRates[$0] / 10 }
    }

    /// The smoothed loss against log₁₀(lr) drawn in text, `width` × `height` characters of plot
    /// with axis labels; `*` marks the curve, `|` the suggestion.
    public func terminalPlot(width: Int = 64, height: Int = 16) -> String {
        let points = zip(learningRates, smoothedLosses).filter { $0.1.isFinite }
        guard points.count >= 2, width >= 8, height >= 4 else { return "(too few points to plot)\n" }
        let xs = points.map { log10($0.0) }, ys = points.map(\.1)
        let (xLow, xHigh) = (xs.min()!, xs.max()!)
        // Clip the diverging tail so the interesting part keeps the height.
        let yLow = ys.min()!, yHigh = min(ys.max()!, yLow + 2 * (ys[0] - yLow) + 1e-12)
        var grid = Array(repeating: Array(repeating: Character(" "), count: width), count: height)
        func column(_ x: Double) -> Int { min(width - 1, max(0, Int(((x - xLow) / max(xHigh - xLow, 1e-12)) * Double(width - 1) + 0.5))) }
        if let suggestion { for row in 0..<height { grid[row][column(log10(suggestion))] = "|" } }
        for (x, y) in zip(xs, ys) where y <= yHigh {
            let row = height - 1 - min(height - 1, max(0, Int((y - yLow) / max(yHigh - yLow, 1e-12) * Double(height - 1) + 0.5)))
            grid[row][column(x)] = "*"
        }
        let label = { (value: Double) in String(format: "%9.4g ", value) }
        var lines: [String] = []
        for (row, characters) in grid.enumerated() {
            let prefix = row == 0 ? label(yHigh) : row == height - 1 ? label(yLow) : String(repeating: " ", count: 10)
            lines.append(prefix + "│" + String(characters))
        }
        lines.append(String(repeating: " ", count: 10) + "└" + String(repeating: "─", count: width))
        let left = String(format: "%.0e", learningRates[0]), right = String(format: "%.0e", points.last!.0)
        lines.append(String(repeating: " ", count: 11) + left + String(repeating: " ", count: max(1, width - left.count - right.count)) + right)
        lines.append(String(repeating: " ", count: 11) + "learning rate (log scale); smoothed loss")
        return lines.joined(separator: "\n") + "\n"
    }

    /// `lr,loss,smoothed_loss` rows.
    public var csv: String {
        "lr,loss,smoothed_loss\n" + learningRates.indices.map { "\(learningRates[$0]),\(losses[$0]),\(smoothedLosses[$0])" }.joined(separator: "\n") + "\n"
    }
}
