import NablaTensor
import NablaNN
import NablaTraining

/// The optimizers' paths on `f(x, y) = x²/20 + y²` from `(−7, 2)` — the comparison of "Deep
/// Learning from Scratch" §6.1 (`optimizer_compare_naive.py`), where seed 001 comes from.
///
/// The function is a long, flat valley: its gradient `(x/10, 2y)` is twenty times steeper across
/// (y) than along (x) it. Plain SGD with the book's learning rate 0.95 therefore overshoots in y —
/// `y ← y − 0.95·2y = −0.9·y`, flipping sign every step — while creeping along x
/// (`x ← 0.905·x`); momentum accumulates speed along x, AdaGrad and RMSProp scale each coordinate's
/// step by its gradient history, Adam does both.
///
/// Every path is produced by the real optimizer class (built by ``/NablaTraining/OptimizerSpecification``) on a
/// two-element parameter whose gradient is set analytically before each `step()`.
public enum OptimizerPaths {
    /// `f(x, y) = x²/20 + y²`.
    public static func function(_ x: Double, _ y: Double) -> Double { x * x / 20 + y * y }

    /// `∇f = (x/10, 2y)`.
    public static func gradient(_ x: Double, _ y: Double) -> (x: Double, y: Double) { (x / 10, 2 * y) }

    /// The starting point `(−7, 2)` of every path (the book's).
    public static let start = (x: -7.0, y: 2.0)

    /// An optimizer with a name for legends.
    public struct Entry: Sendable {
        /// The legend label (`Momentum`).
        public var name: String
        /// The optimizer and its hyper-parameters.
        public var optimizer: OptimizerSpecification
        /// An entry labelled `name`.
        public init(_ name: String, _ optimizer: OptimizerSpecification) {
            self.name = name
            self.optimizer = optimizer
        }

        /// The optimizer `optimizerName` (`sgd`, `adam`, …) at `learningRate`, with further options
        /// set by `configure`.
        init(_ name: String, _ optimizerName: String, learningRate: Double,
             configure: (inout OptimizerSpecification) -> Void = { _ in }) {
            var optimizer = OptimizerSpecification(name: optimizerName)
            optimizer.learningRate = learningRate
            configure(&optimizer)
            self.init(name, optimizer)
        }
    }

    /// The book's learning rates (SGD 0.95, Momentum 0.1, AdaGrad 1.5, Adam 0.3), and for the
    /// optimizers the book does not race here: Nesterov as Momentum, RMSProp 0.1, AdamW as Adam with
    /// decoupled weight decay 0.1 (a visible pull towards the origin), Adamax and NAdam as Adam,
    /// Adadelta 100 (its steps start near lr·√ε), RAdam 1 (its first five steps are un-adapted
    /// momentum steps), Lion 0.2 (sign steps of exactly lr), LAMB 0.1 without decay (steps of
    /// lr·‖θ‖).
    public static var book: [Entry] {
        return [
            Entry("SGD", "sgd", learningRate: 0.95),
            Entry("Momentum", "sgd", learningRate: 0.1) { $0.hyperparameters["momentum"] = 0.9 },
            Entry("Nesterov", "sgd", learningRate: 0.1) { $0.hyperparameters["momentum"] = 0.9; $0.hyperparameters["nesterov"] = true },
            Entry("AdaGrad", "adagrad", learningRate: 1.5),
            Entry("RMSProp", "rmsprop", learningRate: 0.1),
            Entry("Adam", "adam", learningRate: 0.3),
            Entry("AdamW", "adamw", learningRate: 0.3) { $0.weightDecay = 0.1 },
            Entry("Adadelta", "adadelta", learningRate: 100),
            Entry("Adamax", "adamax", learningRate: 0.3),
            Entry("NAdam", "nadam", learningRate: 0.3),
            Entry("RAdam", "radam", learningRate: 1),
            Entry("Lion", "lion", learningRate: 0.2),
            Entry("LAMB", "lamb", learningRate: 0.1) { $0.weightDecay = 0 },
        ]
    }

    /// A module holding the point `(x, y)` as its only parameter, so any optimizer can be built for it.
    final class Point: Module<Float> {
        let position: Variable<Float>
        init(_ x: Double, _ y: Double) {
            position = Variable(Tensor([Float(x), Float(y)]), requiresGradient: true)
            super.init()
            registerParameter("position", position)
        }
    }

    /// The iterates of `optimizer` from ``start``: `steps + 1` points, the start included.
    /// - Throws: ``/NablaTensor/NablaError`` for an invalid optimizer specification.
    public static func path(_ optimizer: OptimizerSpecification, steps: Int = 30) throws -> [(x: Double, y: Double)] {
        let point = Point(start.x, start.y)
        let instance = try optimizer.make(for: point)
        var points = [start]
        for _ in 0..<steps {
            let p = point.position.value.scalars
            let g = gradient(Double(p[0]), Double(p[1]))
            point.position.grad = Tensor([Float(g.x), Float(g.y)])
            instance.step()
            let q = point.position.value.scalars
            points.append((Double(q[0]), Double(q[1])))
        }
        return points
    }

    /// The contour plot of `f` with every entry's path.
    /// - Throws: ``/NablaTensor/NablaError`` for an invalid optimizer specification.
    public static func chart(_ entries: [Entry] = book, steps: Int = 30) throws -> ContourPlot {
        let paths = try entries.enumerated().map { i, e in
            ContourPlot.Path(name: e.name, points: try path(e.optimizer, steps: steps), color: ChartPalette.color(forSeries: i))
        }
        return ContourPlot(title: "f(x, y) = x²/20 + y² from (−7, 2), \(steps) steps", function: function,
                           xRange: -10...10, yRange: -5...5, paths: paths, markers: [.init(x: 0, y: 0, label: "minimum")],
                           width: 900, height: 480)
    }

    /// One small chart per optimizer (the book's 2×2 figure, extended), for a grid of figures; the
    /// title is the optimizer's name (its settings belong in a caption).
    public static func charts(_ entries: [Entry] = book, steps: Int = 30) throws -> [ContourPlot] {
        try entries.enumerated().map { i, e in
            ContourPlot(title: e.name, function: function, xRange: -10...10, yRange: -5...5,
                        paths: [.init(name: e.name, points: try path(e.optimizer, steps: steps), color: ChartPalette.color(forSeries: i))],
                        markers: [.init(x: 0, y: 0, label: "min")], resolution: 80, width: 440, height: 300)
        }
    }
}
