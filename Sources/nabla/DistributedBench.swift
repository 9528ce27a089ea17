import Foundation
import Nabla

/// `nabla bench --distributed`: data-parallel step time, gradient-allreduce time per step and
/// scaling efficiency of the reference models on 1, 2, … ranks of this machine.
///
/// Weak scaling, as data parallelism is used: every rank keeps the reference batch (the global
/// batch grows with the ranks), so a perfect scaling keeps the step time and the efficiency is
/// `step(1) / step(K)`. One rank is the plain single-process step (no data-parallel machinery);
/// `K > 1` ranks run `DataParallel` with its overlapped buckets, and again without overlap
/// (every bucket reduced after backward). Each job is `mpirun -np K --bind-to none nabla bench
/// --distributed …`, in which every rank measures and rank 0 prints one line per model.
enum DistributedBench {
    /// One line of a rank-0 report: what a job measured for one model.
    struct Measurement {
        var model: String
        var ranks: Int
        var overlap: Bool
        var batchPerRank: Int
        var stepMilliseconds: Double
        var backwardMilliseconds: Double
        var allReduceMilliseconds: Double
        var exposedMilliseconds: Double
        var gradientMegabytes: Double

        var line: String {
            [model, "ranks=\(ranks)", "overlap=\(overlap ? 1 : 0)", "batch_per_rank=\(batchPerRank)",
             "step_ms=\(format(stepMilliseconds))", "backward_ms=\(format(backwardMilliseconds))",
             "allreduce_ms=\(format(allReduceMilliseconds))", "exposed_ms=\(format(exposedMilliseconds))",
             "gradient_mb=\(format(gradientMegabytes))"].joined(separator: "\t")
        }

        init(model: String, ranks: Int, overlap: Bool, batchPerRank: Int, stepMilliseconds: Double, backwardMilliseconds: Double,
             allReduceMilliseconds: Double, exposedMilliseconds: Double, gradientMegabytes: Double) {
            (self.model, self.ranks, self.overlap, self.batchPerRank) = (model, ranks, overlap, batchPerRank)
            (self.stepMilliseconds, self.backwardMilliseconds) = (stepMilliseconds, backwardMilliseconds)
            (self.allReduceMilliseconds, self.exposedMilliseconds, self.gradientMegabytes) = (allReduceMilliseconds, exposedMilliseconds, gradientMegabytes)
        }

        /// Parses ``line``.
        init?(line: Substring) {
            let fields = line.split(separator: "\t")
            guard fields.count == 9 else { return nil }
            var values: [String: String] = [:]
            for field in fields.dropFirst() {
                let parts = field.split(separator: "=", maxSplits: 1)
                if parts.count == 2 { values[String(parts[0])] = String(parts[1]) }
            }
            guard let ranks = values["ranks"].flatMap(Int.init), let batch = values["batch_per_rank"].flatMap(Int.init),
                  let step = values["step_ms"].flatMap(Double.init), let backward = values["backward_ms"].flatMap(Double.init),
                  let reduce = values["allreduce_ms"].flatMap(Double.init), let exposed = values["exposed_ms"].flatMap(Double.init),
                  let megabytes = values["gradient_mb"].flatMap(Double.init) else { return nil }
            self.init(model: String(fields[0]), ranks: ranks, overlap: values["overlap"] == "1", batchPerRank: batch,
                      stepMilliseconds: step, backwardMilliseconds: backward, allReduceMilliseconds: reduce,
                      exposedMilliseconds: exposed, gradientMegabytes: megabytes)
        }
    }

    /// The launcher's side: one `mpirun` job per rank count (and overlap mode), then the table.
    static func run(models: [String], worldSizes: [Int], steps: Int, warmup: Int, threads: Int?, batchSize: Int?) throws {
        guard let mpirun = MPILauncher.executableOnPath("mpirun") else {
            throw NablaError(.io, "--distributed: mpirun not found on PATH; install Open MPI (Debian: apt-get install openmpi-bin libopenmpi-dev)")
        }
        let me = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
        var environment = ProcessInfo.processInfo.environment
        if geteuid() == 0 { environment["OMPI_ALLOW_RUN_AS_ROOT"] = "1"; environment["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1" }
        var measurements: [Measurement] = []
        for ranks in worldSizes {
            for overlap in ranks == 1 ? [true] : [true, false] {
                var arguments = ["-np", "\(ranks)", "--oversubscribe", "--bind-to", "none", "--quiet", me, "bench", "--distributed",
                                 "--steps", "\(steps)", "--warmup", "\(warmup)", "--threads", "\(threads ?? 1)"]
                if let batchSize { arguments += ["--batch-size", "\(batchSize)"] }
                if !overlap { arguments.append("--no-overlap") }
                let process = Process()
                process.executableURL = URL(fileURLWithPath: mpirun)
                process.arguments = arguments + models
                process.environment = environment
                let output = Pipe()
                process.standardOutput = output
                try process.run()
                let data = output.fileHandleForReading.readDataToEndOfFile()
                process.waitUntilExit()
                guard process.terminationStatus == 0 else {
                    throw NablaError(.io, "--distributed: the \(ranks)-rank job failed with status \(process.terminationStatus)")
                }
                for line in String(decoding: data, as: UTF8.self).split(separator: "\n") {
                    print(line)
                    if let measurement = Measurement(line: line) { measurements.append(measurement) }
                }
            }
        }
        printTable(measurements)
    }

    /// The markdown table of `measurements`, with the efficiency against the same model on one rank.
    static func printTable(_ measurements: [Measurement]) {
        print("")
        print("| model | ranks | overlap | batch/rank | step ms | backward ms | allreduce ms/step | exposed ms/step | gradient MB | efficiency |")
        print("| --- | ---: | :---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
        for m in measurements {
            let base = measurements.first { $0.model == m.model && $0.ranks == 1 }
            let efficiency = base.map { format(100 * $0.stepMilliseconds / m.stepMilliseconds, digits: 0) + " %" } ?? "–"
            print("| \(m.model) | \(m.ranks) | \(m.ranks == 1 ? "–" : m.overlap ? "yes" : "no") | \(m.batchPerRank) | \(format(m.stepMilliseconds)) | "
                  + "\(format(m.backwardMilliseconds)) | \(format(m.allReduceMilliseconds)) | \(format(m.exposedMilliseconds)) | "
                  + "\(format(m.gradientMegabytes)) | \(efficiency) |")
        }
    }

    /// A rank's side: measures `models` in this job, rank 0 prints one ``Measurement`` line each.
    static func measure(models: [String], steps: Int, warmup: Int, batchSize: Int?, overlap: Bool) throws {
        let job = try TrainingJob.start()
        guard let group = job.group else { preconditionFailure("DistributedBench.measure runs under mpirun") }
        for name in models {
            let (defaultBatch, shape) = BenchCommand.reference[name]!
            let batch = batchSize ?? defaultBatch
            let description = try BuiltinModels.description(name, inputShape: shape, outputCount: 10)!
            var generator = RandomGenerator(seed: 1)
            let model = try description.build(inputShape: shape, using: &generator).model
            let optimizer = try SGD(model.parameters, learningRate: 0.01, momentum: 0.9, weightDecay: 5e-4)
            let count = batch * group.size
            let data = Dataset(name: "random", inputs: Tensor<Float>(normal: [count] + shape, using: &generator),
                               targets: .classes((0..<count).map { _ in Int(generator.next(upperBound: 10 as UInt64)) }, classCount: 10))
            var loader = DataLoader(dataset: data, batchSize: count, shuffle: false, prefetchDepth: 0)
            var parallel: DataParallel?
            if group.size > 1 {
                loader.shard = DataShard(rank: group.rank, count: group.size)
                var configuration = DataParallel.Configuration()
                configuration.overlapsBackward = overlap
                parallel = DataParallel(group: group, model: model, loader: loader, seed: 1, configuration: configuration)
            }
            let batchData = loader.batch(0, epoch: 0, order: Array(0..<count))
            guard case .classes(let labels, _) = batchData.targets else { preconditionFailure("class targets") }
            var stepTimes: [Double] = [], backwardTimes: [Double] = [], hookedBackwardTimes: [Double] = []
            var before = CommunicationStatistics()
            // On one rank, every other step runs backward with a no-op readiness callback: the cost
            // of the hook when used (unused, `backward()` runs the code it always ran).
            let measuresHook = group.size == 1
            for step in 0..<(warmup + (measuresHook ? 2 : 1) * steps) {
                if step == warmup { before = parallel?.statistics ?? .init() }
                let hooked = measuresHook && step % 2 == 1
                let start = DispatchTime.now().uptimeNanoseconds
                optimizer.zeroGrad()
                let loss = crossEntropy(logits: model(Variable(batchData.inputs)), labels: labels)
                let backwardStart = DispatchTime.now().uptimeNanoseconds
                if let parallel { parallel.backward(loss, of: batchData) } else if hooked { loss.backward { _ in } } else { loss.backward() }
                let backwardEnd = DispatchTime.now().uptimeNanoseconds
                optimizer.step()
                if step >= warmup {
                    let backward = Double(backwardEnd - backwardStart) / 1e6
                    if hooked { hookedBackwardTimes.append(backward); continue }
                    stepTimes.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6)
                    backwardTimes.append(backward)
                }
            }
            let after = parallel?.statistics ?? .init()
            let timedSteps = Double(max(after.steps - before.steps, 1))
            let measurement = Measurement(
                model: name, ranks: group.size, overlap: overlap, batchPerRank: batch, stepMilliseconds: median(stepTimes),
                backwardMilliseconds: median(backwardTimes),
                allReduceMilliseconds: 1000 * (after.reductionSeconds - before.reductionSeconds) / timedSteps,
                exposedMilliseconds: 1000 * (after.exposedSeconds - before.exposedSeconds) / timedSteps,
                gradientMegabytes: Double(model.parameterCount * MemoryLayout<Float>.stride) / 1e6)
            if job.isCoordinator {
                print(measurement.line)
                if measuresHook {
                    print("\(name)\thook\tbackward_ms=\(format(median(backwardTimes)))\tbackward_with_ready_callback_ms=\(format(median(hookedBackwardTimes)))")
                }
            }
        }
        try job.finish()
    }

    static func median(_ values: [Double]) -> Double {
        let sorted = values.sorted()
        guard !sorted.isEmpty else { return .nan }
        return sorted.count % 2 == 1 ? sorted[sorted.count / 2] : (sorted[sorted.count / 2 - 1] + sorted[sorted.count / 2]) / 2
    }
}

private func format(_ value: Double, digits: Int = 2) -> String { String(format: "%.\(digits)f", value) }
