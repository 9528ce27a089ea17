import Foundation
import NablaTensor
import NablaIO
import NablaNN
import NablaOptim
import NablaData

/// What ``TrainingPlan/prepare(loaded:)`` checks and decides before it allocates a model: the
/// validation split that selection needs, and the memory the run will take.
extension TrainingPlan {
    /// The fraction of the training data held out for validation when early stopping (with its
    /// best-weights selection) or `ReduceLROnPlateau` is requested without `--val-split`: 10%.
    public static let defaultMonitorFraction = 0.1

    /// Whether something selects on a monitored loss: early stopping (and its best weights) or a
    /// `plateau` schedule. What they monitor is the validation loss — never the test set.
    public var selectsOnValidation: Bool { earlyStoppingPatience != nil || scheduleSelectsOnValidation }

    /// Whether ``schedule`` is driven by a monitored loss (`plateau`).
    var scheduleSelectsOnValidation: Bool {
        guard let schedule, let probe = try? SGD([Variable(Tensor<Float>([0]), requiresGradient: true)], learningRate: 0.1),
              let made = try? ScheduleSpecification(parsing: schedule).make(for: probe) else { return false }
        return made.requiresMetric
    }

    /// ``data`` with the validation split a selecting run needs: the plan's own fraction, else
    /// ``defaultMonitorFraction`` when ``selectsOnValidation`` (unless the training data is too
    /// small to spare a sample), and a note saying what was decided (for the run's output).
    func monitoredDataSelection(trainingCount: Int) -> (selection: DataSelection, note: String?) {
        guard data.validationFraction == 0, selectsOnValidation else { return (data, nil) }
        let users = [earlyStoppingPatience != nil ? "early stopping" : nil, scheduleSelectsOnValidation ? "the plateau schedule" : nil]
            .compactMap { $0 }.joined(separator: " and ")
        let held = Int((Double(trainingCount) * Self.defaultMonitorFraction).rounded())
        guard held >= 1, held < trainingCount else {
            return (data, "validation: \(trainingCount) training samples are too few to hold some out; \(users) monitors the training loss (the test set is only reported)")
        }
        var selection = data
        selection.validationFraction = Self.defaultMonitorFraction
        return (selection, "validation: \(users) monitors \(held) of the \(trainingCount) training samples, held out (10%; --val-split sets the fraction); the test set is only reported")
    }

    /// Refuses the run before anything large is allocated when its estimated peak memory exceeds
    /// ``MemoryBudget/current``: the data already loaded plus a training step at the batch size
    /// (activations, parameters, gradients, optimizer state, convolution workspace —
    /// ``ModelMemoryEstimate``), or test-time augmentation's crops. Evaluation passes, whose batch
    /// size is Nabla's choice rather than the user's, get the largest batch up to
    /// `evaluationBatchSize` that fits.
    /// - Returns: the evaluation batch size to use.
    /// - Throws: ``/NablaTensor/NablaError`` naming the model, the heaviest layer, the estimate and the cap.
    func checkMemory(data: PlanData, evaluationBatchSize: Int) throws -> Int {
        let budget = MemoryBudget.current
        let m = MemoryArithmetic.self
        let description = try model.resolvedDescription(inputShape: data.train.sampleShape, outputCount: data.train.outputCount)
        let estimate = try description.memoryEstimate(inputShape: data.train.sampleShape)
        let threads = Parallelism.threadCount
        let dataBytes = m.product([4, m.sum([data.train, data.validation, data.test].compactMap { $0 }.map { m.sum([$0.inputs.count, $0.count]) })])
        let dataNote = "data \(MemoryBudget.format(dataBytes))"
        let training = estimate.training(batchSize: min(batchSize, data.train.count), optimizerSlots: try optimizer.stateSlots(),
                                         threads: threads)
        try budget.check(training.adding(dataBytes), "--model \(model.name) at batch size \(batchSize)",
                         detail: [training.dominant, dataNote].compactMap { $0 }.joined(separator: "; "))
        if let testTimeAugmentation, let test = data.test, test.inputs.rank == 4, test.count > 0 {
            let padding = try TestTimeAugmentationSpec(parsing: testTimeAugmentation).padding
            let (c, h, w) = (test.inputs.shape[1], test.inputs.shape[2], test.inputs.shape[3])
            let batch = min(TestTimeAugmentationSpec.batchSize, test.count)
            let (paddedHeight, paddedWidth) = (m.sum([h, m.product([2, padding])]), m.sum([w, m.product([2, padding])]))
            // The padded batch and its mirror image, the ten crops, and the model on one crop.
            let views = m.sum([m.product([2, batch, c, paddedHeight, paddedWidth]), m.product([10, batch, c, h, w])])
            let tta = m.sum([m.product([4, views]), estimate.inference(batchSize: batch, threads: threads).bytes, dataBytes])
            try budget.check(tta, "--tta \(testTimeAugmentation)",
                             detail: "\(batch) test images at a time, padded to \(c)×\(paddedHeight)×\(paddedWidth) and cut into ten crops; \(dataNote)")
        }
        let evaluated = [data.train, data.validation, data.test].compactMap { $0?.count }.max() ?? 1
        var evaluationBatch = max(1, min(evaluationBatchSize, evaluated))
        while evaluationBatch > 1 && estimate.inference(batchSize: evaluationBatch, threads: threads).adding(dataBytes) > budget.bytes {
            evaluationBatch /= 2
        }
        let evaluation = estimate.inference(batchSize: evaluationBatch, threads: threads)
        try budget.check(evaluation.adding(dataBytes), "--model \(model.name) evaluating one sample at a time",
                         detail: [evaluation.dominant, dataNote].compactMap { $0 }.joined(separator: "; "))
        return evaluationBatch
    }
}

extension OptimizerSpecification {
    /// The state tensors the optimizer keeps per parameter (SGD with momentum 1, Adam 2, AMSGrad 3),
    /// found by taking one step on a two-element probe parameter.
    /// - Throws: ``/NablaTensor/NablaError`` for an unknown optimizer or an invalid hyper-parameter.
    public func stateSlots() throws -> Int {
        let registration = try OptimizerRegistry.registration(named: name)
        let probe = Variable(Tensor<Float>([0.5, -0.5]), requiresGradient: true)
        let optimizer = try registration.make([ParameterGroup([probe])], hyperparameters: hyperparameters)
        probe.grad = Tensor([0.1, -0.2])
        optimizer.step()
        return optimizer.stateDict().values.filter { $0.shape == [2] }.count
    }
}
