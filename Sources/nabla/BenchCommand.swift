import ArgumentParser
import Foundation
import Nabla

/// `nabla bench`: training throughput of the reference models (SPEC "BENCHMARKS").
struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure training throughput of the reference models.",
        discussion: """
            One training step = forward, softmax cross-entropy, backward, SGD with momentum 0.9 and weight \
            decay 5e-4, on random data. After --warmup steps, --steps steps are timed one by one; each model \
            prints NAME<TAB>batch=B<TAB>median_ms=X.XX<TAB>images_per_s=N (and, when more than 100 steps run, \
            its resident memory at step 100 and at the last step), then peak resident memory, the BLAS \
            kernels in use and Nabla's version.
            Models: mlp (batch 128, 1×28×28), lenet-bn (batch 128, 1×28×28), convnet (batch 64, 3×32×32), \
            resnet20 (batch 128, 3×32×32; not in the default set). Each model also prints gflop_per_step (the \
            multiply-adds ×2 of its convolutions and linear layers, forward and both backward products) and \
            gflops (that ÷ the median step time).
            With --distributed: data-parallel training over Open MPI on this machine, one job per number of \
            ranks in --world-sizes (one thread per rank unless --threads), every rank with the reference \
            batch; prints per model and rank count the median step time, backward time (with the wait for \
            the gradient reduction), allreduce time per step, the part of it not hidden behind backward, \
            and the scaling efficiency step(1)/step(K), as a markdown table at the end.
            """)

    @Argument(help: "Models to run: mlp, lenet-bn, convnet, resnet20 (default: mlp lenet-bn convnet).")
    var models: [String] = []

    @Option(name: .long, help: "Timed steps per model.")
    var steps: Int = 50

    @Option(name: .long, help: "Untimed warm-up steps per model.")
    var warmup: Int = 5

    @OptionGroup var threadOptions: ThreadOptions

    @Option(name: .long, help: "Override the batch size.")
    var batchSize: Int?

    @Flag(name: .long, help: "Instead of models: sgemm GFLOP/s through Nabla vs OpenBLAS directly, conv2d forward+backward GFLOP/s on the convnet layers, and each convolution product (forward, input and weight gradient) of the reference models' layers with the gemm and the selected algorithm, as a share of Nabla's 1024³ sgemm rate measured just before each layer (sgemm_gflops; a shared machine's speed drifts) — and the fastest run against the fastest of those sgemm runs (fastest_of_sgemm), what the kernel does when the machine is quiet — the models given restricting the layers.")
    var kernels = false

    @Option(name: .long, help: "With --kernels: only the convolution layers whose name contains this text (e.g. 6->16 or 'lenet-bn 1->6'), without the convnet forward+backward rates; repeat it for several layers.")
    var layer: [String] = []

    @Option(name: .long, help: "With --kernels: only this convolution product: forward, inputGradient or weightGradient; repeat it for several.")
    var product: [String] = []

    @Flag(name: .long, help: "Data-parallel step time, allreduce time and scaling efficiency on 1, 2, … ranks (mpirun).")
    var distributed = false

    @Option(name: .long, parsing: .upToNextOption, help: "With --distributed: the numbers of ranks to measure.")
    var worldSizes: [Int] = [1, 2]

    @Flag(name: .long, help: .hidden)
    var noOverlap = false
    @Flag(name: .long, help: "Time by the process's CPU time divided by the thread count instead of the wall clock (for a machine shared with other jobs; exact with --threads 1).")
    var cpuTime = false

    @OptionGroup var convolution: ConvolutionOptions

    @Option(name: .long, help: "Arithmetic of the linear maps and convolutions: float32 (default) or bf16 (torch.autocast(\"cpu\", dtype=torch.bfloat16); float32 with a notice where the CPU has no AVX512_BF16). Each model line then ends in precision=<what ran>.")
    var precision: String?

    static let reference: [String: (batch: Int, shape: [Int])] = [
        "mlp": (128, [1, 28, 28]), "lenet-bn": (128, [1, 28, 28]), "convnet": (64, [3, 32, 32]),
        "resnet20": (128, [3, 32, 32]),
    ]

    func validate() throws {
        guard steps >= 1 else { throw ValidationError("--steps \(steps) must be at least 1") }
        guard warmup >= 0 else { throw ValidationError("--warmup \(warmup) must be non-negative") }
        if let batchSize, batchSize < 1 { throw ValidationError("--batch-size \(batchSize) must be at least 1") }
        if worldSizes.contains(where: { $0 < 1 }) { throw ValidationError("--world-sizes \(worldSizes): each must be at least 1") }
        if let precision, (try? Precision(parsing: precision)) == nil {
            throw ValidationError("--precision \(precision): expected one of float32, bf16")
        }
        for name in models where Self.reference[name] == nil {
            throw ValidationError("unknown benchmark model '\(name)' (expected mlp, lenet-bn, convnet or resnet20)")
        }
        if !kernels, let option = !layer.isEmpty ? "--layer" : !product.isEmpty ? "--product" : nil {
            throw ValidationError("\(option) selects what --kernels measures; add --kernels")
        }
        for product in product where ConvolutionProduct(rawValue: product) == nil {
            throw ValidationError("--product \(product): expected one of forward, inputGradient, weightGradient")
        }
        for layer in layer where KernelBenchmarks.selectedLayers(models: models, filters: [layer]).isEmpty {
            let names = KernelBenchmarks.selectedLayers(models: models, filters: []).map(KernelBenchmarks.layerName)
            throw ValidationError("--layer \(layer) matches no layer; the layers are: \(names.joined(separator: ", "))")
        }
    }

    func run() throws {
        threadOptions.apply()
        if distributed {
            let names = models.isEmpty ? ["mlp", "lenet-bn", "convnet"] : models
            if LaunchEnvironment().isLaunchedByMPI {
                return try DistributedBench.measure(models: names, steps: steps, warmup: warmup, batchSize: batchSize, overlap: !noOverlap)
            }
            return try DistributedBench.run(models: names, worldSizes: worldSizes, steps: steps, warmup: warmup,
                                            threads: threadOptions.threads, batchSize: batchSize)
        }
        let algorithm = try convolution.algorithm()
        KernelBenchmarks.measuresCPUTime = cpuTime
        if kernels {
            KernelBenchmarks.gemm(repetitions: steps)
            if layer.isEmpty && product.isEmpty {
                withConvolutionAlgorithm(algorithm) { KernelBenchmarks.convolution(repetitions: steps) }
            }
            KernelBenchmarks.convolutionProducts(repetitions: steps, models: models,
                                                 algorithms: algorithm == .gemm ? [.gemm] : [.gemm, algorithm],
                                                 layerFilters: layer,
                                                 products: product.isEmpty ? ConvolutionProduct.allCases
                                                     : ConvolutionProduct.allCases.filter { product.contains($0.rawValue) })
            print("blas_core=\(BLASBackend.coreName)\tsimd_bits=\(DirectConvolutionSupport.vectorBits)\tthreads=\(Parallelism.threadCount)")
            return
        }
        var ran = Precision.float32
        if let precision {
            let resolved = try Precision(parsing: precision).resolvedForHardware
            if let notice = resolved.notice { StandardStreams.note("nabla: \(notice)\n") }
            ran = resolved.precision
        }
        try withConvolutionAlgorithm(algorithm) { try withPrecision(ran) { try runModels() } }
    }

    func runModels() throws {
        for name in models.isEmpty ? ["mlp", "lenet-bn", "convnet"] : models {
            let (defaultBatch, shape) = Self.reference[name]!
            let batch = batchSize ?? defaultBatch
            let description = try BuiltinModels.description(name, inputShape: shape, outputCount: 10)!
            var generator = RandomGenerator(seed: 1)
            let model = try description.build(inputShape: shape, using: &generator).model
            let optimizer = try SGD(model.parameters, learningRate: 0.01, momentum: 0.9, weightDecay: 5e-4)
            let x = Tensor<Float>(normal: [batch] + shape, using: &generator)
            let labels = (0..<batch).map { _ in Int(generator.next(upperBound: 10 as UInt64)) }
            var times: [Double] = []
            var residentAtStep100: Double?
            for step in 0..<(warmup + steps) {
                if step == 100 { residentAtStep100 = currentResidentMegabytes() }
                let start = KernelBenchmarks.now()
                optimizer.zeroGrad()
                let loss = crossEntropy(logits: model(Variable(x)), labels: labels)
                loss.backward()
                optimizer.step()
                let elapsed = (KernelBenchmarks.now() - start) * 1000
                if step >= warmup { times.append(elapsed) }
            }
            times.sort()
            let median = times.count % 2 == 1 ? times[times.count / 2] : (times[times.count / 2 - 1] + times[times.count / 2]) / 2
            let flops = BenchFLOPs.perStep(description, batch: batch, shape: shape)
            print("\(name)\tbatch=\(batch)\tmedian_ms=\(String(format: "%.2f", median))\timages_per_s=\(Int((Double(batch) / median * 1000).rounded()))"
                  + "\tgflop_per_step=\(String(format: "%.3f", flops / 1e9))\tgflops=\(String(format: "%.1f", flops / median / 1e6))"
                  + (precision == nil ? "" : "\tprecision=\(Precision.current)"))
            if let residentAtStep100, let last = currentResidentMegabytes() {
                // Steady state: whatever a step allocates must be given back (or reused) by the next.
                let total = warmup + steps
                print("\(name)\trss_mb_step_100=\(String(format: "%.1f", residentAtStep100))\t"
                      + "rss_mb_step_\(total)=\(String(format: "%.1f", last))\t"
                      + "change=\(String(format: "%+.1f%%", (last / residentAtStep100 - 1) * 100))")
            }
        }
        print("peak_rss_mb=\(String(format: "%.1f", peakResidentMegabytes()))")
        print("blas_core=\(BLASBackend.coreName)")
        print("nabla_version=\(NablaVersion.current)")
        if let notice = BLASKernelSelection.environmentPinNotice {
            StandardStreams.note("nabla: note: \(notice)\n")
        }
    }
}

/// Peak resident set size of this process, in MiB (`getrusage`; Linux reports KiB).
/// The process's resident memory now (Linux `/proc/self/statm`), or nil where that is unavailable.
func currentResidentMegabytes() -> Double? {
    guard let statm = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8) else { return nil }
    let fields = statm.split(separator: " ")
    guard fields.count > 1, let pages = Double(fields[1]) else { return nil }
    return pages * Double(sysconf(Int32(_SC_PAGESIZE))) / (1024 * 1024)
}

func peakResidentMegabytes() -> Double {
    var usage = rusage()
    #if os(Linux)
    getrusage(RUSAGE_SELF.rawValue, &usage)
    return Double(usage.ru_maxrss) / 1024
    #else
    getrusage(RUSAGE_SELF, &usage)
    return Double(usage.ru_maxrss) / 1024 / 1024
    #endif
}
