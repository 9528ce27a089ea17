import Foundation
import Nabla

/// `nabla bench --kernels`: the rates of the two kernels that do the FLOPs.
enum KernelBenchmarks {
    /// Whether ``median(_:_:)`` measures the process's CPU time divided by the thread count instead of
    /// wall-clock time (`--cpu-time`): on a machine shared with other jobs, the time this process's
    /// threads actually ran, which for kernels that keep every thread busy is the wall-clock time
    /// of an otherwise idle machine.
    nonisolated(unsafe) static var measuresCPUTime = false

    /// Seconds now, on the clock ``measuresCPUTime`` selects.
    static func now() -> Double {
        if measuresCPUTime {
            var time = timespec()
            clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &time)
            return (Double(time.tv_sec) + Double(time.tv_nsec) / 1e9) / Double(Parallelism.threadCount)
        }
        return Double(DispatchTime.now().uptimeNanoseconds) / 1e9
    }

    /// Median seconds of `body` over `repetitions` runs after one warm-up.
    static func median(_ repetitions: Int, _ body: () -> Void) -> Double {
        timings(repetitions, body).median
    }

    /// The median and the fastest seconds of `body` over `repetitions` runs after one warm-up.
    static func timings(_ repetitions: Int, _ body: () -> Void) -> (median: Double, fastest: Double) {
        body()
        var times: [Double] = []
        for _ in 0..<Swift.max(1, repetitions) {
            let start = now()
            body()
            times.append(now() - start)
        }
        times.sort()
        return (times[times.count / 2], times[0])
    }

    /// sgemm GFLOP/s through `Tensor.matmul` (allocating its output) next to the same OpenBLAS call on
    /// preallocated buffers with OpenBLAS's own thread pool, for a square size and the `mlp` layer shapes.
    ///
    /// Nabla's products are all measured first: OpenBLAS's pool keeps spinning for a while after a
    /// multi-threaded call and would take a core away from Nabla's split (the reason Nabla keeps
    /// OpenBLAS single-threaded). After OpenBLAS's runs the pool is given a second to go back to sleep.
    static func gemm(repetitions: Int) {
        var generator = RandomGenerator(seed: 1)
        let shapes = [(1024, 1024, 1024), (128, 512, 784), (128, 784, 512), (512, 784, 128)]
        let operands = shapes.map { m, n, k in
            (Tensor<Float>(normal: [m, k], using: &generator), Tensor<Float>(normal: [k, n], using: &generator))
        }
        let nabla = operands.map { a, b in median(repetitions) { _ = Tensor.matmul(a, b) } }
        let direct = BLASThreading.withOpenBLASThreads(Parallelism.threadCount) {
            zip(shapes, operands).map { shape, operands -> Double in
                let (m, n, k) = shape, (a, b) = operands
                var c = [Float](repeating: 0, count: m * n)
                return median(repetitions) {
                    a.withUnsafeBufferPointer { pa in
                        b.withUnsafeBufferPointer { pb in
                            c.withUnsafeMutableBufferPointer { pc in
                                Float.gemm(transposeA: false, transposeB: false, m: m, n: n, k: k, alpha: 1,
                                           a: pa.baseAddress!, lda: k, b: pb.baseAddress!, ldb: n, beta: 0,
                                           c: pc.baseAddress!, ldc: n)
                            }
                        }
                    }
                }
            }
        }
        Thread.sleep(forTimeInterval: 1)
        for (i, (m, n, k)) in shapes.enumerated() {
            let flops = 2.0 * Double(m * n * k)
            print("sgemm \(m)x\(n)x\(k)\topenblas_gflops=\(String(format: "%.1f", flops / direct[i] / 1e9))\t"
                  + "nabla_gflops=\(String(format: "%.1f", flops / nabla[i] / 1e9))\tratio=\(String(format: "%.2f", direct[i] / nabla[i]))")
        }
    }

    /// The convolution layers of the reference models: (model, batch, in, out, size, kernel, padding, stride).
    /// A convolution layer of a reference model, as the kernel benchmark builds it.
    typealias Layer = (model: String, batch: Int, cin: Int, cout: Int, size: Int, kernel: Int, padding: Int, stride: Int)

    static let layers: [Layer] = [
        ("convnet", 64, 3, 32, 32, 3, 1, 1), ("convnet", 64, 32, 32, 32, 3, 1, 1),
        ("convnet", 64, 32, 64, 16, 3, 1, 1), ("convnet", 64, 64, 64, 16, 3, 1, 1),
        ("lenet-bn", 128, 1, 6, 28, 5, 2, 1), ("lenet-bn", 128, 6, 16, 14, 5, 0, 1),
        ("resnet20", 128, 3, 16, 32, 3, 1, 1), ("resnet20", 128, 16, 16, 32, 3, 1, 1),
        ("resnet20", 128, 16, 32, 32, 3, 1, 2), ("resnet20", 128, 32, 32, 16, 3, 1, 1),
        ("resnet20", 128, 32, 64, 16, 3, 1, 2), ("resnet20", 128, 64, 64, 8, 3, 1, 1),
    ]

    /// The name a layer's lines carry: `MODEL CIN->COUT SIZExSIZE kK[ sS] batch N`.
    static func layerName(_ layer: Layer) -> String {
        "\(layer.model) \(layer.cin)->\(layer.cout) \(layer.size)x\(layer.size) k\(layer.kernel)"
            + (layer.stride > 1 ? " s\(layer.stride)" : "") + " batch \(layer.batch)"
    }

    /// The layers of `models` (all when empty) whose name contains one of `filters` (all when empty).
    static func selectedLayers(models: [String], filters: [String]) -> [Layer] {
        layers.filter { layer in
            (models.isEmpty || models.contains(layer.model)) && (filters.isEmpty || filters.contains { layerName(layer).contains($0) })
        }
    }

    /// GFLOP/s of each product in `products` of each layer of `models` in `layers` (all when `models` is
    /// empty) that `layerFilters` select, for each algorithm, and as a share of Nabla's 1024³ sgemm rate
    /// measured just before the layer (`sgemm_gflops`): a shared machine's speed drifts by tens of percent
    /// over a minute (AMD EPYC Zen 4, 2 vCPUs, Haswell kernels: 107–219 GFLOP/s within one session), so a share against a
    /// rate taken at the start would measure the drift as much as the kernel. Each line also gives the
    /// fastest run (`fastest_ms`) as a share of the fastest of those sgemm runs (`fastest_of_sgemm`,
    /// `fastest_sgemm_gflops`): both at the host's quietest moments, so on a shared machine it says what
    /// the kernel does when nothing else runs, where the median share moves with the neighbours. The
    /// median is the figure to quote; the fastest bounds it.
    static func convolutionProducts(repetitions: Int, models: [String], algorithms: [ConvolutionAlgorithm],
                                    layerFilters: [String] = [], products: [ConvolutionProduct] = ConvolutionProduct.allCases) {
        var generator = RandomGenerator(seed: 2), squareGenerator = RandomGenerator(seed: 1)
        let square = Tensor<Float>(normal: [1024, 1024], using: &squareGenerator)   // the reference product's operand
        for layer in selectedLayers(models: models, filters: layerFilters) {
            let sgemm = timings(Swift.max(5, repetitions / 5)) { _ = Tensor.matmul(square, square) }
            let squareGflop = 2.0 * 1024 * 1024 * 1024 / 1e9
            let sgemmRate = squareGflop / sgemm.median, fastestSgemmRate = squareGflop / sgemm.fastest
            let (batch, cin, cout, size, kernel, padding, stride) = (layer.batch, layer.cin, layer.cout, layer.size, layer.kernel, layer.padding, layer.stride)
            let out = (size + 2 * padding - kernel) / stride + 1
            let x = Tensor<Float>(normal: [batch, cin, size, size], using: &generator)
            let w = Tensor<Float>(normal: [cout, cin, kernel, kernel], using: &generator)
            let gy = Tensor<Float>(normal: [batch, cout, out, out], using: &generator)
            let flops = 2.0 * Double(batch * cout * out * out * cin * kernel * kernel)
            let name = layerName(layer)
            for product in products {
                var result = Tensor<Float>(zeros: product == .forward ? gy.shape : product == .inputGradient ? x.shape : w.shape)
                var timed: Set<ConvolutionAlgorithm> = []
                for algorithm in algorithms {
                    // Time each kernel family once: `auto` on a strided layer is the gemm path again.
                    let kernels = try! algorithm.kernels(input: x.shape, weight: w.shape, stride: (stride, stride),
                                                         padding: (padding, padding), product: product)
                    guard timed.insert(kernels).inserted else { continue }
                    let (seconds, fastest) = timings(repetitions) {
                        try! product.run(input: x, weight: w, upstream: gy, stride: (stride, stride), padding: (padding, padding),
                                         algorithm: algorithm, into: &result)
                    }
                    let rate = flops / seconds / 1e9, fastestRate = flops / fastest / 1e9
                    print("conv2d \(name)\t\(product.rawValue)\talgorithm=\(algorithm)\tkernels=\(kernels)\tms=\(String(format: "%.3f", seconds * 1000))\t"
                          + "gflops=\(String(format: "%.1f", rate))\tof_sgemm=\(String(format: "%.0f%%", rate / sgemmRate * 100))"
                          + "\tsgemm_gflops=\(String(format: "%.1f", sgemmRate))\tfastest_ms=\(String(format: "%.3f", fastest * 1000))"
                          + "\tfastest_of_sgemm=\(String(format: "%.0f%%", fastestRate / fastestSgemmRate * 100))"
                          + "\tfastest_sgemm_gflops=\(String(format: "%.1f", fastestSgemmRate))")
                }
            }
        }
    }

    /// Forward + backward (input, weight and bias gradients) GFLOP/s of the `convnet` layers at batch 64.
    static func convolution(repetitions: Int) {
        var generator = RandomGenerator(seed: 2)
        for (cin, cout, size) in [(3, 32, 32), (32, 32, 32), (32, 64, 16), (64, 64, 16)] {
            let x = Variable(Tensor<Float>(normal: [64, cin, size, size], using: &generator), requiresGradient: true)
            let w = Variable(Tensor<Float>(normal: [cout, cin, 3, 3], using: &generator), requiresGradient: true)
            let b = Variable(Tensor<Float>(zeros: [cout]), requiresGradient: true)
            let upstream = Tensor<Float>(normal: [64, cout, size, size], using: &generator)
            // Forward 2·N·Cout·H·W·Cin·9; backward twice that (input and weight gradients).
            let flops = 3 * 2.0 * Double(64 * cout * size * size * cin * 9)
            let seconds = median(repetitions) {
                x.grad = nil; w.grad = nil; b.grad = nil
                conv2d(x, weight: w, bias: b, padding: (1, 1)).backward(seed: upstream)
            }
            print("conv2d \(cin)->\(cout) \(size)x\(size) batch 64\tms=\(String(format: "%.2f", seconds * 1000))\t"
                  + "gflops=\(String(format: "%.1f", flops / seconds / 1e9))")
        }
    }
}
