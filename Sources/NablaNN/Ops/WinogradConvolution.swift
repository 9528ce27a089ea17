import NablaTensor

/// Winograd's minimal filtering F(2×2, 3×3) (Lavin & Gray 2016, "Fast Algorithms for Convolutional
/// Neural Networks", CVPR) for the forward pass and the input gradient of 3×3 unit-stride layers
/// (``ConvolutionAlgorithm/winograd``; their weight gradient is ``WinogradWeightGradient``).
///
/// The output plane is cut into 2×2 tiles; tile `(ty, tx)` reads the 4×4 patch `d` of the zero-padded
/// input at rows `2·ty − pH …` and columns `2·tx − pW …`. With
///
///     Bᵀ = [1 0 −1 0; 0 1 1 0; 0 −1 1 0; 0 1 0 −1]   G = [1 0 0; ½ ½ ½; ½ −½ ½; 0 0 1]   Aᵀ = [1 1 1 0; 0 1 −1 −1]
///
/// the tile of output channel `k` is `Y = Aᵀ [Σ_c (G g_kc Gᵀ) ⊙ (Bᵀ d_c B)] A` (`g_kc` the 3×3 kernel):
/// 16 multiply-adds per tile and channel pair instead of the direct sum's 36, 2.25× fewer. The sum over
/// `c` is 16 independent matrix products `M_ξ = U_ξ·V_ξ` (ξ = 4·i + j; `U_ξ[k][c]` the transformed
/// weights, `V_ξ[c][t]` the transformed patches of a chunk of tiles), which run on the direct
/// convolution's broadcast tiles (``BroadcastKernel``) as a 1×1 correlation over the chunk. The
/// transforms only add and subtract (the ½ of `G` is exact), vectorized over `L` neighbouring tiles of a
/// tile row (``LanePermutable/unshuffle(_:_:)`` splits a padded row into its even and odd columns).
///
/// F(4×4, 3×3) (``ConvolutionAlgorithm/winograd4x4``, `WinogradF4Transforms.swift`) cuts the plane into
/// 4×4 tiles of 6×6 patches: 36 products per tile, 4× fewer multiply-adds than the direct sum, with
/// larger transforms and more rounding. On a 64 → 64 layer the largest Float error against the exact
/// result, as a share of the result's RMS, is 2.3e-5 (output) and 2.7e-5 (∂x), against F(2×2)'s 1.3e-6
/// and 1.6e-6 and the direct sum's 4.5e-6 and 3.5e-6 (`WinogradConvolutionTests`).
///
/// The result differs from the direct sum in rounding only: each output is a different sum of the
/// same products, with the inputs and weights combined before they are multiplied. Every element is
/// computed by the same operations in the same order whatever the chunking and the number of cores.
enum WinogradConvolution {
    /// Whether F(2×2, 3×3) and F(4×4, 3×3) compute this geometry's three products (the weight gradient in
    /// ``WinogradWeightGradient``): one group, a 3×3
    /// kernel, unit strides and dilations, and paddings of at most 2 (so that the input gradient, a
    /// correlation of the upstream gradient padded by `2 − p`, is one too).
    static func applies(to g: Convolution2DGeometry) -> Bool {
        g.groups == 1 && g.kernelHeight == 3 && g.kernelWidth == 3 && g.strideHeight == 1 && g.strideWidth == 1
            && g.dilationHeight == 1 && g.dilationWidth == 1 && g.paddingHeight <= 2 && g.paddingWidth <= 2
            && g.outHeight >= 1 && g.outWidth >= 1
    }

    /// The Winograd tile size ``ConvolutionAlgorithm/auto`` takes for `product` of `g` with vectors of
    /// `lanes` values — 4 (F(4×4, 3×3)) or 2 (F(2×2, 3×3)) — or nil for neither: where it applies, the
    /// larger tile whose tile rows fill at least three quarters of the vectors they take (or pack two or
    /// four to a vector), on a layer with at least 16 input and 16 output planes for F(4×4) and 32 for
    /// F(2×2) (the transforms cost `O(C + K)` per tile against the products' `O(C·K)`, and F(2×2) saves
    /// less). The weight gradient transforms the forward pass's patches, and follows its rule.
    ///
    /// Measured on the reference models' layers (AMD EPYC Zen 4, `nabla bench --kernels`), F(2×2)'s time
    /// against the direct kernels' with 16 lanes (2 threads, medians of three alternations): convnet
    /// 32→32 32×32 0.79–0.80, 32→64 16×16 0.74–0.75, 64→64 16×16 0.63–0.65, resnet20 32→32 16×16
    /// 0.72–0.73, 64→64 8×8 0.43–0.53; with 8 lanes (AVX2) 0.58–0.72 on the same layers. F(4×4)'s time
    /// against F(2×2)'s (1 thread, medians of three alternations, forward / input gradient): 16 lanes
    /// convnet 32→32 32×32 0.86 / 0.79, 32→64 16×16 0.70 / 0.81, 64→64 16×16 0.81 / 0.78, resnet20 32→32
    /// 16×16 0.86 / 0.84; 8 lanes 32→32 32×32 0.86 / 0.87, 32→64 16×16 0.91 / 0.92, 64→64 16×16 0.81 /
    /// 0.82, resnet20 32→32 16×16 0.92 / 0.93 — and 1.6–3.3 where its tile rows fill a quarter of a
    /// vector or less unpacked (resnet20's 8×8 planes on 8 lanes: 1.78 / 1.79). Thinner layers gain less
    /// or lose: F(2×2) 1.10–1.13 (16 lanes) and 0.89 (8 lanes) of the direct time on resnet20's 16→16
    /// 32×32, 1.4–2.2 on the 3-channel input layers; F(4×4) there 0.95 (16 lanes) and 0.93 (8 lanes)
    /// before the transforms' blocks were spread over the cache sets (`oddCacheLines`), then
    /// 0.85–0.90 forward and 0.83–0.91 input gradient with 8 lanes (AMD EPYC Zen 3, 2 threads, three
    /// alternations; 16 lanes not measured since).
    ///
    /// The weight gradient, measured the same way (AMD EPYC Zen 3, 8 lanes, one thread, two alternations,
    /// ms direct / F(2×2) / F(4×4)): convnet 32→32 32×32 13.97–14.12 / 10.26–10.74 / 8.12–8.25, 32→64
    /// 16×16 7.35–7.45 / 4.57–4.91 / 3.73–3.98, 64→64 16×16 13.87–13.96 / 9.00–11.40 / 6.85–7.07; resnet20
    /// 16→16 32×32 7.77–8.11 / 7.51–8.05 / 6.28–6.34, 32→32 16×16 7.02–7.54 / 5.19–5.93 / 4.11–4.43, 64→64
    /// 8×8 7.11–7.14 / 4.29–4.62 / 4.72–4.82; the 3-channel input layers 1.6–2.0 direct against 2.2–4.3.
    static func tileSize(_ g: Convolution2DGeometry, product: ConvolutionProduct, lanes: Int) -> Int? {
        guard applies(to: g) else { return nil }
        let thinnest = Swift.min(g.inChannels, g.outChannels)
        guard thinnest >= 16 else { return nil }
        for tileSize in [4, 2] where tileSize == 4 || thinnest >= 32 {
            // The weight gradient transforms the forward pass's patches (``WinogradWeightGradient``).
            let shape = product == .inputGradient ? WinogradShape(inputGradient: g, tileSize: tileSize)
                                                  : WinogradShape(forward: g, tileSize: tileSize)
            if shape.tileRowsPerVector(lanes: lanes) > 1 { return tileSize }
            let vectors = (shape.tileColumns + lanes - 1) / lanes
            if 4 * shape.tileColumns >= 3 * vectors * lanes { return tileSize }
        }
        return nil
    }

    /// Whether ``ConvolutionAlgorithm/auto`` may choose Winograd (tests turn it off to exercise the
    /// other rules on the same shapes).
    nonisolated(unsafe) static var automatic = true

    /// Bytes of transformed patches and products (`P·(C + K)` values per tile, `P` = 16 or 36) a chunk of tiles may
    /// hold: about half of a 1 MiB L2. A chunk still holds one whole group of the product's tile (48
    /// tiles with 16 lanes) where the budget is smaller.
    nonisolated(unsafe) static var chunkBytes = 384 * 1024

    /// `output = W ⋆ input + bias` for `g` (``applies(to:)``) on `m × m` tiles (`tileSize` 2 or 4).
    static func forward<Scalar: TensorScalar>(
        input x: UnsafePointer<Scalar>, weight w: UnsafePointer<Scalar>, bias: UnsafePointer<Scalar>?,
        output: UnsafeMutablePointer<Scalar>, geometry g: Convolution2DGeometry, tileSize: Int = 2,
        workspace: ConvolutionWorkspace
    ) {
        let cin = g.inChannels
        run(Scalar.self, WinogradShape(forward: g, tileSize: tileSize), batch: g.batch, input: x, bias: bias, output: output, workers: g.workerCount,
            workspace: workspace) { k, c, i, j in w[((k * cin + c) * 3 + i) * 3 + j] }
    }

    /// `∂x = ∂ŷ ⋆ W̃` (`W̃[c, o, i, j] = W[o, c, 2 − i, 2 − j]`, the upstream gradient padded by `2 − p`)
    /// on `m × m` tiles (`tileSize` 2 or 4).
    static func inputGradient<Scalar: TensorScalar>(
        weight w: UnsafePointer<Scalar>, upstream gy: UnsafePointer<Scalar>, inputGradient dx: UnsafeMutablePointer<Scalar>,
        geometry g: Convolution2DGeometry, tileSize: Int = 2, workspace: ConvolutionWorkspace
    ) {
        let cin = g.inChannels
        run(Scalar.self, WinogradShape(inputGradient: g, tileSize: tileSize), batch: g.batch, input: gy, bias: nil, output: dx, workers: g.workerCount,
            workspace: workspace) { c, o, i, j in w[((o * cin + c) * 3 + (2 - i)) * 3 + (2 - j)] }
    }

    /// Runs the correlation on the vector type of this build's width (``DirectConvolution/vectorKind(_:)``).
    private static func run<Scalar: TensorScalar>(
        _: Scalar.Type, _ shape: WinogradShape, batch: Int, input: UnsafePointer<Scalar>, bias: UnsafePointer<Scalar>?,
        output: UnsafeMutablePointer<Scalar>, workers: Int, workspace: ConvolutionWorkspace,
        weight: (_ out: Int, _ channel: Int, _ row: Int, _ column: Int) -> Scalar
    ) {
        func go<V: DirectVector>(_: V.Type) {
            V.winogradCorrelation(shape, batch: batch, input: UnsafeRawPointer(input).assumingMemoryBound(to: V.Scalar.self),
                                  bias: bias.map { UnsafeRawPointer($0).assumingMemoryBound(to: V.Scalar.self) },
                                  output: UnsafeMutableRawPointer(output).assumingMemoryBound(to: V.Scalar.self),
                                  workers: workers, workspace: workspace) { o, c, i, j in
                unsafeBitCast(weight(o, c, i, j), to: V.Scalar.self)
            }
        }
        switch DirectConvolution.vectorKind(Scalar.self) {
        case .float16: go(SIMD16<Float>.self)
        case .float8: go(SIMD8<Float>.self)
        case .float4: go(SIMD4<Float>.self)
        case .double8: go(SIMD8<Double>.self)
        case .double4: go(SIMD4<Double>.self)
        case .double2: go(SIMD2<Double>.self)
        }
    }
}

/// A stride-1 3×3 correlation of `channels` input planes `height × width`, zero-padded by
/// `paddingHeight`/`paddingWidth`, into `outChannels` planes, cut into `m × m` output tiles (`tileSize`
/// `m` of 2 for F(2×2, 3×3), 4 for F(4×4, 3×3)), each read from an `(m + 2) × (m + 2)` input patch.
struct WinogradShape {
    var channels: Int, outChannels: Int, height: Int, width: Int, paddingHeight: Int, paddingWidth: Int
    var tileSize = 2

    var outHeight: Int { height + 2 * paddingHeight - 2 }
    var outWidth: Int { width + 2 * paddingWidth - 2 }
    /// Tile rows and tile columns: `⌈Ho/m⌉`, `⌈Wo/m⌉`.
    var tileRows: Int { (outHeight + tileSize - 1) / tileSize }
    var tileColumns: Int { (outWidth + tileSize - 1) / tileSize }
    /// The transformed points per tile, `(m + 2)²`: one matrix product each.
    var points: Int { (tileSize + 2) * (tileSize + 2) }

    /// Tile rows the transforms pack into one vector of `lanes` tiles: 2 or 4 where a tile row is exactly
    /// half or a quarter of a vector (and the plane's tile rows divide evenly), else 1.
    func tileRowsPerVector(lanes: Int) -> Int {
        for rows in [2, 4] where rows * tileColumns == lanes && tileRows % rows == 0 { return rows }
        return 1
    }
}

extension WinogradShape {
    /// The forward pass of `g`: its input planes padded by `p`.
    init(forward g: Convolution2DGeometry, tileSize: Int = 2) {
        self.init(channels: g.inChannels, outChannels: g.outChannels, height: g.inHeight, width: g.inWidth,
                  paddingHeight: g.paddingHeight, paddingWidth: g.paddingWidth, tileSize: tileSize)
    }

    /// The input gradient of `g`: its upstream gradient's planes padded by `2 − p`.
    init(inputGradient g: Convolution2DGeometry, tileSize: Int = 2) {
        self.init(channels: g.outChannels, outChannels: g.inChannels, height: g.outHeight, width: g.outWidth,
                  paddingHeight: 2 - g.paddingHeight, paddingWidth: 2 - g.paddingWidth, tileSize: tileSize)
    }
}
