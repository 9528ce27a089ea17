import ArgumentParser
import Foundation
import Nabla

/// `--max-memory`, shared by the commands that build models: the cap that a run's estimated memory
/// (and any file it decompresses) must fit, checked before anything large is allocated.
struct MemoryOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp(
        "Refuse work estimated to need more memory than this: 4G, 512M, 1000000 (bytes) or 50% (of the memory available).",
        discussion: "Default: \(Int(MemoryBudget.defaultFraction * 100))% of the memory this process may use (physical memory, capped by cgroup and ulimit limits)."))
    var maxMemory: String?

    func validate() throws {
        guard let maxMemory else { return }
        do { _ = try MemoryBudget(parsing: maxMemory) } catch let error as NablaError { throw ValidationError(error.message) }
    }

    /// The budget the flag names, or the default.
    var budget: MemoryBudget { maxMemory.flatMap { try? MemoryBudget(parsing: $0) } ?? .default }

    /// Runs `body` with ``budget`` as ``MemoryBudget/current``.
    func apply<Result>(_ body: () throws -> Result) throws -> Result {
        try MemoryBudget.$current.withValue(budget, operation: body)
    }

    /// The largest batch size up to `batchSize` at which an evaluation pass of `model` over `samples`
    /// inputs of `inputShape` (with `dataBytes` already loaded) fits the budget; with `adapt` false,
    /// `batchSize` itself or an error.
    /// - Throws: ``NablaError`` naming the model, its heaviest layer, the estimate and the cap.
    @discardableResult
    static func checkInference(of model: TrainingPlan.Model, inputShape: [Int], outputCount: Int, samples: Int,
                               batchSize: Int, dataBytes: Int, adapt: Bool) throws -> Int {
        let description = try model.resolvedDescription(inputShape: inputShape, outputCount: outputCount)
        let estimate = try description.memoryEstimate(inputShape: inputShape)
        let budget = MemoryBudget.current
        var batch = max(1, min(batchSize, samples))
        while adapt && batch > 1 && estimate.inference(batchSize: batch, threads: Parallelism.threadCount).adding(dataBytes) > budget.bytes {
            batch /= 2
        }
        let requirement = estimate.inference(batchSize: batch, threads: Parallelism.threadCount)
        try budget.check(requirement.adding(dataBytes), "--model \(model.name) on \(batch) sample(s) at once",
                         detail: requirement.dominant ?? "")
        return batch
    }
}
