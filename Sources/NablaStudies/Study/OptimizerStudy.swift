import Foundation
import NablaTensor
import NablaNN
import NablaData
import NablaTraining

/// `nabla study optimizers`: does an optimizer other than SGD with momentum train an MLP to a better
/// test accuracy — by how much, how sure, at its textbook learning rate and at a tuned one? SGD,
/// Momentum, Nesterov, AdaGrad, RMSProp, Adam, AdamW, Adadelta, Adamax, NAdam, RAdam, Lion and LAMB,
/// plus Momentum with one-cycle and cyclic schedules and Adam with warm restarts, as a
/// ``SeededStudy``: every optimizer tuned on validation with the same budget, then trained on paired
/// seeds and compared with Momentum (paired t, Holm–Bonferroni). Plus the optimizers' paths on
/// `f(x, y) = x²/20 + y²` (``OptimizerPaths``), which are deterministic and need no seeds.
///
/// **Why the learning rate is tuned for every optimizer.** Comparing optimizers at fixed learning
/// rates ranks the learning rates, not the optimizers: each update rule has its own scale (Adam's
/// steps are about `lr` per coordinate, SGD's are `lr·‖g‖`), so a textbook value that suits one is
/// too small or too large for another. Choi et al. (2019, "On Empirical Comparisons of Optimizers
/// for Deep Learning") show that rankings flip once the learning rate (and more) is tuned, and
/// Schmidt, Schneider & Hennig (2021, "Descending through a Crowded Valley") that with a tuned
/// learning rate no optimizer dominates. So every optimizer gets the same grid *relative to its own
/// textbook rate* — the same number of points (the same budget) — and the report shows both the
/// textbook and the tuned comparison.
///
/// **Why Momentum is the reference.** SGD with momentum 0.9 is the default that adaptive methods
/// are proposed to beat and that much vision work still trains with (Wilson et al., 2017, "The
/// Marginal Value of Adaptive Gradient Methods"); comparing with plain SGD instead would mostly
/// measure momentum.
public enum OptimizerStudy {
    /// How large the learning-rate grids are: `small` (×0.3, ×1, ×3 of each textbook rate: half a
    /// decade either side, 3 points) or `full` (×0.1 … ×10, 5 points).
    public enum Grid: String, Sendable, Codable, CaseIterable {
        case small, full

        /// The factors applied to each optimizer's textbook learning rate.
        public var factors: [Double] {
            switch self {
            case .small: return [0.3, 1, 3]
            case .full: return [0.1, 0.3, 1, 3, 10]
            }
        }
    }

    /// The settings of `nabla study optimizers`.
    public struct Configuration: Sendable {
        /// Hidden widths of the MLP every optimizer trains.
        public var hidden = [256, 256, 256]
        /// Epochs of every network run.
        public var epochs = 15
        /// Mini-batch size of every network run.
        public var batchSize = 64
        /// The fraction of the training images each run holds out for validation (per seed).
        public var validationFraction = 0.25
        /// The learning-rate grid of every optimizer.
        public var grid = Grid.small
        /// The first seed: final runs use `seed, seed + 1, …`, tuning runs `seed + 1000, …`.
        public var seed: UInt64 = 0
        /// Final seeds per optimizer and setting (paired across optimizers).
        public var seedCount = 5
        /// Seeds per grid point when tuning.
        public var tuningSeedCount = 1
        /// Tune each optimizer's learning rate on validation; without it only the textbook rates run.
        public var tunes = true
        /// Run only these optimizers (``variantKeys``; the reference `momentum` is always added).
        public var variants: [String]?
        /// Steps on `f(x, y)`.
        public var pathSteps = 30
        /// The defaults of `nabla study optimizers`.
        public init() {}

        /// The final seeds.
        public var seeds: [UInt64] { (0..<UInt64(seedCount)).map { seed + $0 } }
        /// The tuning seeds (disjoint from the final seeds for up to 1000 of them).
        public var tuningSeeds: [UInt64] { (0..<UInt64(tuningSeedCount)).map { seed + 1000 + $0 } }
    }

    /// The reference every optimizer is compared with.
    public static let baseline = "momentum"

    /// One optimizer (and schedule) of the study: its textbook learning rate and how to build it at
    /// any learning rate.
    struct Recipe {
        var key: String
        var name: String
        var summary: String
        var textbookLearningRate: Double
        /// The optimizer and the schedule (or `nil`) at learning rate `lr`, for a run of
        /// `stepsPerEpoch × epochs` optimizer steps.
        var build: (_ lr: Double, _ stepsPerEpoch: Int, _ epochs: Int) -> (OptimizerSpecification, String?)
    }

    static func optimizer(_ name: String, _ lr: Double, _ configure: (inout OptimizerSpecification) -> Void = { _ in }) -> OptimizerSpecification {
        var o = OptimizerSpecification(name: name)
        o.learningRate = lr
        configure(&o)
        return o
    }

    static func momentum(_ o: inout OptimizerSpecification) { o.hyperparameters["momentum"] = 0.9 }

    /// The textbook learning rates: "Deep Learning from Scratch" §6.1's MNIST comparison (0.01 for
    /// SGD, Momentum and AdaGrad, 0.001 for Adam), PyTorch's defaults for the others (RMSProp 1e-3,
    /// Adadelta 1, Adamax and NAdam 2e-3, RAdam 1e-3, AdamW and LAMB with weight decay 0.01), Lion
    /// 1e-4 (Chen et al., 2023: 3–10× smaller than AdamW's); one-cycle peaks at 0.1 (Smith & Topin,
    /// 2019), cyclic runs triangles between MAX/50 and MAX = 0.05 (Smith, 2017), warm restarts
    /// start from Adam's 0.001 (Loshchilov & Hutter, 2017).
    static let recipes: [Recipe] = {
        func plain(_ key: String, _ name: String, _ summary: String, _ optimizerName: String, _ lr: Double,
                   _ configure: @escaping (inout OptimizerSpecification) -> Void = { _ in }) -> Recipe {
            Recipe(key: key, name: name, summary: summary, textbookLearningRate: lr) { lr, _, _ in (optimizer(optimizerName, lr, configure), nil) }
        }
        return [
            plain("sgd", "SGD", "Plain SGD, θ ← θ − lr·g.", "sgd", 0.01),
            plain("momentum", "Momentum", "SGD with heavy-ball momentum 0.9 (PyTorch's form v ← 0.9v + g, θ ← θ − lr·v): the reference.",
                  "sgd", 0.01, momentum),
            plain("nesterov", "Nesterov", "SGD with Nesterov momentum 0.9 (Sutskever et al., 2013).", "sgd", 0.01) {
                momentum(&$0)
                $0.hyperparameters["nesterov"] = true
            },
            plain("adagrad", "AdaGrad", "Per-coordinate steps lr/√(Σg²) (Duchi et al., 2011).", "adagrad", 0.01),
            plain("rmsprop", "RMSProp", "Per-coordinate steps lr/√(EMA of g²), α = 0.99 (Tieleman & Hinton, 2012).", "rmsprop", 0.001),
            plain("adam", "Adam", "Momentum and RMSProp scaling with bias correction, β = (0.9, 0.999) (Kingma & Ba, 2015).", "adam", 0.001),
            plain("adamw", "AdamW", "Adam with decoupled weight decay 0.01 (Loshchilov & Hutter, 2019).", "adamw", 0.001) { $0.weightDecay = 0.01 },
            plain("adadelta", "Adadelta", "Steps scaled by the ratio of running RMS of updates and gradients, ρ = 0.9 (Zeiler, 2012).", "adadelta", 1),
            plain("adamax", "Adamax", "Adam with the infinity norm in place of √(EMA of g²) (Kingma & Ba, 2015).", "adamax", 0.002),
            plain("nadam", "NAdam", "Adam with Nesterov momentum (Dozat, 2016).", "nadam", 0.002),
            plain("radam", "RAdam", "Adam with a rectified variance estimate in place of warm-up (Liu et al., 2020).", "radam", 0.001),
            plain("lion", "Lion", "Sign of an interpolated momentum, β = (0.9, 0.99) (Chen et al., 2023).", "lion", 0.0001),
            plain("lamb", "LAMB", "Adam steps rescaled per layer by ‖θ‖/‖step‖, weight decay 0.01 (You et al., 2020).", "lamb", 0.001) {
                $0.weightDecay = 0.01
            },
            Recipe(key: "momentum-onecycle", name: "Momentum + one-cycle",
                   summary: "Momentum under OneCycleLR per step: lr MAX/25 → MAX over the first 30% → MAX/25e4 by cosine, momentum cycled "
                       + "0.95 → 0.85 → 0.95 (Smith & Topin, 2019); the tuned lr is MAX.",
                   textbookLearningRate: 0.1) { lr, _, _ in
                (optimizer("sgd", lr / 25, momentum), "onecycle:\(StudyRunPlan.format(lr))")
            },
            Recipe(key: "momentum-cyclic", name: "Momentum + cyclic",
                   summary: "Momentum under triangular CyclicLR per step between MAX/50 and MAX, three cycles over the run, momentum cycled "
                       + "0.9 → 0.8 (Smith, 2017); the tuned lr is MAX.",
                   textbookLearningRate: 0.05) { lr, stepsPerEpoch, epochs in
                let base = rounded(lr / 50)
                let up = max(1, stepsPerEpoch * epochs / 6)
                return (optimizer("sgd", base, momentum), "cyclic:\(StudyRunPlan.format(base)):\(StudyRunPlan.format(lr)):\(up)")
            },
            Recipe(key: "adam-restarts", name: "Adam + warm restarts",
                   summary: "Adam under CosineAnnealingWarmRestarts: cosine from lr to 0 over 5 epochs, then over 10, 20, … (Loshchilov & Hutter, 2017).",
                   textbookLearningRate: 0.001) { lr, _, _ in
                (optimizer("adam", lr), "cosine-restarts:5:2")
            },
        ]
    }()

    /// Every optimizer key, in report order.
    public static var variantKeys: [String] { recipes.map(\.key) }

    /// `x` to three significant digits (`0.01 × 0.3` = 0.003, not 0.0030000000000000005).
    static func rounded(_ x: Double) -> Double { Double(String(format: "%.3g", x)) ?? x }

    /// The variants of the study on data of `inputShape` with `classCount` classes, each tuned over
    /// the learning rate at ``Grid/factors`` × its textbook rate.
    /// - Parameters:
    ///   - base: the plan every variant starts from (data, validation split, budget, normalization).
    ///   - trainingCount: the images each run trains on (after the validation split), for the
    ///     steps per epoch of the per-step schedules.
    /// - Throws: ``NablaError`` for an unknown key.
    public static func variants(_ c: Configuration, inputShape: [Int], classCount: Int, base: TrainingPlan,
                                trainingCount: Int) throws -> [StudyVariant] {
        let keys = try selectedKeys(c)
        let model = StudyModels.mlp(inputShape: inputShape, outputCount: classCount, hidden: c.hidden)
        let stepsPerEpoch = max(1, (trainingCount + c.batchSize - 1) / c.batchSize)
        return keys.compactMap { key in recipes.first { $0.key == key } }.map { recipe in
            let textbook = VariantSetting([HyperParameter("lr", recipe.textbookLearningRate)])
            let grid = c.grid.factors.map { VariantSetting([HyperParameter("lr", rounded(recipe.textbookLearningRate * $0))]) }
            let (o, schedule) = recipe.build(recipe.textbookLearningRate, stepsPerEpoch, c.epochs)
            let scheduled = schedule.map { " Schedule: --schedule \($0) at the textbook setting." } ?? ""
            return StudyVariant(key: recipe.key, name: recipe.name, summary: recipe.summary + " Textbook: \(o.description).\(scheduled)",
                                textbook: textbook, grid: grid) { setting in
                var plan = base
                plan.model = TrainingPlan.Model(description: model)
                plan.model.initialization = .kaimingNormal
                let (optimizer, schedule) = recipe.build(setting["lr"]!, stepsPerEpoch, c.epochs)
                plan.optimizer = optimizer
                plan.schedule = schedule
                return plan
            }
        }
    }

    /// The chosen keys in report order, the reference first among them.
    static func selectedKeys(_ c: Configuration) throws -> [String] {
        let chosen = c.variants ?? variantKeys
        if let unknown = chosen.first(where: { !variantKeys.contains($0) }) {
            throw NablaError(.invalidArgument, "--optimizers \(unknown): unknown optimizer; expected some of \(variantKeys.joined(separator: ","))")
        }
        return variantKeys.filter { $0 == baseline || chosen.contains($0) }
    }

    /// The one comparison family: every optimizer against Momentum, Holm-corrected together.
    public static func family(_ keys: [String]) -> ComparisonFamily {
        ComparisonFamily(name: "optimizers", question: "Does each optimizer change the MLP's test accuracy compared with Momentum?",
                         baseline: baseline, members: keys.filter { $0 != baseline })
    }

    /// The seeded study on `data`: the MLP trained by every optimizer (no schedule unless the variant
    /// has one), tuned on validation, final runs on the configuration's seeds.
    public static func study(_ c: Configuration, data: StudyData, runsDirectory: URL?) throws -> SeededStudy {
        guard let classCount = data.train.classCount else { throw NablaError(.invalidArgument, "the optimizer study needs class labels") }
        var base = TrainingPlan(model: .init(name: "(set by the variant)"), data: .init(spec: data.dataSpec))
        base.data.trainSubset = data.trainSubset
        base.data.validationFraction = c.validationFraction
        base.data.normalize = data.normalizes
        base.epochs = c.epochs
        base.batchSize = c.batchSize
        let validation = Int((Double(data.train.count) * c.validationFraction).rounded())
        let variants = try self.variants(c, inputShape: data.train.sampleShape, classCount: classCount, base: base,
                                         trainingCount: data.train.count - validation)
        let description = "An MLP with hidden widths \(c.hidden.map(String.init).joined(separator: "-")) on \(data.trainDescription); "
            + "each run holds out \(validation) of the \(data.train.count) images for validation (a different random part per seed) and trains "
            + "on the other \(data.train.count - validation) for \(c.epochs) epochs (batch \(c.batchSize), a constant learning rate unless the "
            + "variant names a schedule, Kaiming-normal weights, inputs standardized with the training part's statistics). "
            + "Test split: \(data.test.count) images, evaluated once per final run."
        var study = SeededStudy(name: "optimizers", title: "Optimizers (MLP, \(data.train.count) images)", description: description,
                                variants: variants, families: [family(variants.map(\.key))], seeds: c.seeds, tuningSeeds: c.tuningSeeds,
                                dataIdentity: try StudyJob.dataIdentity(of: data.dataSpec), runsDirectory: runsDirectory)
        study.tunes = c.tunes
        return study
    }

    /// One optimizer's iterates on `f(x, y)`.
    public struct Path: Sendable {
        /// The optimizer's name.
        public var name: String
        /// Its settings (`adam(lr=0.3)`).
        public var settings: String
        /// The iterates, the start included.
        public var points: [(x: Double, y: Double)]
    }

    /// Everything one `nabla study optimizers` produced.
    public struct Result: Sendable {
        /// The settings the study ran with.
        public var configuration: Configuration
        /// The seeded network study.
        public var outcome: SeededStudyOutcome
        /// Each optimizer's iterates on `f(x, y)`, in ``OptimizerPaths/book`` order.
        public var paths: [Path]
        /// Wall-clock seconds of the whole study.
        public var seconds: Double
        /// Runs trained now.
        public var trainedRuns: Int
        /// Runs read from the cache.
        public var cachedRuns: Int
        /// How runs were executed ("2 worker processes × 1 thread").
        public var execution: String
        /// Images in each run's validation split (the tuning score's sample size).
        public var validationCount: Int
    }

    /// Runs the paths and the seeded study through `engine`; logs go under `outputDirectory/runs`.
    /// - Throws: ``NablaError`` from a plan, a run, or the cache.
    public static func run(_ c: Configuration, data: StudyData, engine: StudyEngine, outputDirectory: URL?) throws -> Result {
        let start = Date()
        let paths = try OptimizerPaths.book.map {
            Path(name: $0.name, settings: StudyRunPlan.describe($0.optimizer), points: try OptimizerPaths.path($0.optimizer, steps: c.pathSteps))
        }
        let runsDirectory = outputDirectory?.appendingPathComponent("runs")
        let outcome = try study(c, data: data, runsDirectory: runsDirectory).run(engine: engine)
        if let runsDirectory { try StudyTensorBoard.write([outcome], to: runsDirectory) }
        return Result(configuration: c, outcome: outcome, paths: paths, seconds: Date().timeIntervalSince(start),
                      trainedRuns: engine.trainedCount, cachedRuns: engine.cachedCount, execution: engine.executor.summary,
                      validationCount: Int((Double(data.train.count) * c.validationFraction).rounded()))
    }
}
