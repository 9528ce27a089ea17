import XCTest
@testable import NablaTensor
@testable import NablaOptim
import NablaTestSupport

/// The schedule kinds a `--schedule` spec names: the built-in table, the field readers' messages,
/// and a kind registered from outside Nabla (an `EpochSchedule` subclass defined here).
final class ScheduleRegistryTests: XCTestCase {
    /// lr × 0.5 every `every` epochs — a schedule written against the public `EpochSchedule` API.
    final class HalvingLR: EpochSchedule {
        let every: Int
        init(_ optimizer: any Optimizer, every: Int) {
            self.every = every
            super.init(optimizer)
        }
        override func nextLearningRates() -> [Double] {
            lastEpoch > 0 && lastEpoch % every == 0 ? currentLearningRates.map { $0 / 2 } : currentLearningRates
        }
        override func closedFormLearningRates() -> [Double] {
            baseLearningRates.map { $0 * pow(0.5, Double(lastEpoch / every)) }
        }
    }

    static let halving = ScheduleKind("halve", aliases: ["halving"], grammar: "halve:EVERY",
                                      summary: "lr × 0.5 every EVERY epochs") { fields in
        try fields.allow(atMost: 2)
        let every = try fields.positiveInteger(1, "EVERY")
        return ParsedSchedule(length: every) { HalvingLR($0, every: every) }
    }

    func makeOptimizer() throws -> SGD<Double> {
        try SGD([Variable(Tensor<Double>([1]), requiresGradient: true)], learningRate: 0.8)
    }

    func testBuiltInKindsAndTheirGrammar() throws {
        XCTAssertEqual(Array(ScheduleRegistry.kinds.prefix(6).map(\.name)), ["step", "multistep", "exp", "cosine", "warmup", "plateau"])
        XCTAssertEqual(ScheduleRegistry.kind(named: "Exponential")?.name, "exp")
        XCTAssertEqual(ScheduleRegistry.kind(named: "linear")?.name, "warmup")
        for kind in ScheduleRegistry.builtIns {
            XCTAssertEqual(kind.interval, ["onecycle", "cyclic"].contains(kind.name) ? .step : .epoch, kind.name)
        }
        XCTAssertTrue(ScheduleRegistry.grammar.hasPrefix("step:STEP_SIZE[:GAMMA], multistep:M1,M2,…[:GAMMA], exp:GAMMA"))
        let cosine = try XCTUnwrap(ScheduleRegistry.kind(named: "cosine")).parse(ScheduleFields("cosine:10:0.01", spec: "cosine:10:0.01"))
        XCTAssertEqual(cosine.length, 10)
        let schedule = try cosine.make(try makeOptimizer())
        XCTAssertTrue(schedule is CosineAnnealingLR)
        XCTAssertNil(try ScheduleRegistry.kind(named: "plateau")!.parse(ScheduleFields("plateau", spec: "plateau")).length)
    }

    func testFieldErrorsQuoteTheWholeSpec() {
        let fields = ScheduleFields("step:x:y:z", spec: "warmup:2+step:x:y:z")
        assertNablaError(try fields.allow(atMost: 3), "--schedule warmup:2+step:x:y:z: too many values for step")
        assertNablaError(try fields.positiveInteger(1, "step size"), "step size must be a positive integer")
        assertNablaError(try fields.number(2, "gamma"), "gamma 'y' is not a number")
        assertNablaError(try fields.number(7, "gamma"), "missing gamma")
        XCTAssertEqual(try fields.number(7, "gamma", default: 0.1), 0.1)
        assertNablaError(try ScheduleFields("multistep:3,x", spec: "s").positiveIntegers(1, "milestones"),
                         "milestones must be positive integers like 30,60")
    }

    func testARegisteredKindIsFoundByNameAndAlias() throws {
        ScheduleRegistry.register(Self.halving)
        ScheduleRegistry.register(Self.halving)   // the same kind again: no-op
        XCTAssertEqual(ScheduleRegistry.kinds.filter { $0.name == "halve" }.count, 1)
        let kind = try XCTUnwrap(ScheduleRegistry.kind(named: "HALVING"))
        let optimizer = try makeOptimizer()
        let schedule = try kind.parse(ScheduleFields("halving:2", spec: "halving:2")).make(optimizer)
        var rates: [Double] = []
        for _ in 0..<6 {
            rates.append(optimizer.learningRate)
            schedule.step()
        }
        XCTAssertEqual(rates, [0.8, 0.8, 0.4, 0.4, 0.2, 0.2])
        assertNablaError(try kind.parse(ScheduleFields("halve:0", spec: "halve:0")), "--schedule halve:0: EVERY must be a positive integer")
    }
}
