import Foundation
import Nabla

/// `nabla bench --kernels`: the rates of the two kernels that do the FLOPs.
enum KernelBenchmarks {
    /// Median seconds of `body` over `repetitions` runs after one warm-up.
    static func median(_ repetitions: Int, _ body: () -> Void) -> Double {
        body()
        var times: [Double] = []
        for _ in 0..<repetitions {
            let start = DispatchTime.now().uptimeNanoseconds
            body()
            times.append(Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        times.sort()
        return times[times.count / 2]
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
