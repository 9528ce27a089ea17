import Foundation
import NablaTensor

/// Random erasing (Zhong et al., 2020, "Random Erasing Data Augmentation"; torchvision
/// `RandomErasing`), the occlusion augmentation also known as cutout.

/// What erased pixels are replaced with.
public enum ErasingValue: Equatable, Sendable {
    /// One value for every channel (torchvision `value=v`; the default is 0).
    case constant(Double)
    /// One value per channel (torchvision `value=(r, g, b)`).
    case perChannel([Double])
    /// Standard normal noise per erased pixel and channel (torchvision `value="random"`).
    case normal
}

/// Per sample, with probability `p`, erases one rectangle with torchvision's `RandomErasing`
/// sampling: up to 10 attempts of `area' = H·W·U(scale)`, `r = exp(U(log ratio))`,
/// `h = round(√(area'·r))`, `w = round(√(area'/r))`; the first with `h < H` and `w < W` is placed at
/// `top ∈ 0…H − h`, `left ∈ 0…W − w` and filled with `value` in every channel. If every attempt
/// fails the sample is left as is. Draw order per sample: the `p` coin, then per attempt scale and
/// ratio, then (for ``ErasingValue/normal``) the noise, then top and left.
/// - Precondition: `p ∈ [0, 1]`, positive scale and ratio bounds.
@_specialize(where Scalar == Float)
@_specialize(where Scalar == Double)
public func randomErasing<Scalar>(
    _ x: Tensor<Scalar>, probability p: Double = 0.5, scale: ClosedRange<Double> = 0.02...0.33,
    ratio: ClosedRange<Double> = 0.3...3.3, value: ErasingValue = .constant(0), using generator: inout RandomGenerator
) -> Tensor<Scalar> {
    precondition(p >= 0 && p <= 1, "randomErasing: p=\(p) is out of range [0, 1]")
    precondition(scale.lowerBound >= 0 && ratio.lowerBound > 0, "randomErasing: scale \(scale), ratio \(ratio) must be positive")
    let g = ImageGeometry(x, "randomErasing")
    if case .perChannel(let values) = value {
        precondition(values.count == g.channels, "randomErasing: \(values.count) values for \(g.channels) channels")
    }
    let area = Double(g.plane)
    let logLower = log(ratio.lowerBound), logUpper = log(ratio.upperBound)
    var y = x
    y.withUnsafeMutableBufferPointer { out in
        for n in 0..<g.count {
            guard generator.bernoulli(p) else { continue }
            for _ in 0..<10 {
                let eraseArea = area * generator.uniform(scale.lowerBound, scale.upperBound)
                let aspect = exp(generator.uniform(logLower, logUpper))
                let h = pythonRound((eraseArea * aspect).squareRoot())
                let w = pythonRound((eraseArea / aspect).squareRoot())
                guard h < g.height && w < g.width else { continue }
                var noise: [Scalar] = []
                if value == .normal { noise = (0..<(g.channels * h * w)).map { _ in Scalar(generator.nextNormal()) } }
                let top = generator.integer(0, g.height - h), left = generator.integer(0, g.width - w)
                for c in 0..<g.channels {
                    let base = (n * g.channels + c) * g.plane
                    for i in 0..<h {
                        for j in 0..<w {
                            let fill: Scalar
                            switch value {
                            case .constant(let v): fill = Scalar(v)
                            case .perChannel(let values): fill = Scalar(values[c])
                            case .normal: fill = noise[(c * h + i) * w + j]
                            }
                            out[base + (top + i) * g.width + left + j] = fill
                        }
                    }
                }
                break
            }
        }
    }
    return y
}
