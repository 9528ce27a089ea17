import NablaTensor

/// 2-D cross-correlation over NCHW tensors as one tape node, PyTorch's `F.conv2d`:
///
/// `y[n, o, h, w] = b[o] + Σ_{c ∈ group(o)} Σ_{i, j} W[o, c − c₀, i, j] · x[n, c, h·sH − pH + i·dH, w·sW − pW + j·dW]`
///
/// with zeros outside the input, where output channel `o` sees only the `C/groups` input channels of
/// its group (`c₀` is the group's first channel).
///
/// - Parameters:
///   - x: input `[N, C, H, W]` (or unbatched `[C, H, W]`).
///   - weight: `[O, C/groups, kH, kW]`, PyTorch's layout.
///   - bias: `[O]`, optional.
///   - stride: `(sH, sW)`, positive.
///   - padding: `(pH, pW)`, zeros on each side, non-negative.
///   - dilation: `(dH, dW)`, the spacing of kernel taps, positive.
///   - groups: divides both `C` and `O`.
/// - Returns: `[N, O, Ho, Wo]` with `Ho = ⌊(H + 2pH − dH·(kH − 1) − 1) / sH⌋ + 1` (likewise `Wo`).
///
/// The batch is split across the cores; each lowers its samples with im2col into a column buffer
/// borrowed from ``ConvolutionWorkspace`` and multiplies each group's weight `[O/g, (C/g)·kH·kW]` by
/// it with a GEMM (Chellapilla et al. 2006) that writes the NCHW output on top of the bias. Backward
/// recomputes the columns instead of keeping them: `∂W_g = Σ_n ∂y[n]_g · col[n]_gᵀ`,
/// `∂col_g = W_gᵀ · ∂y_g` folded back by col2im, `∂b = Σ_{n,h,w} ∂y`. A 1×1 kernel with unit stride
/// and no padding skips im2col (the input is its own column matrix). Unit-stride convolutions whose
/// output is as wide as the input (the "same" 3×3 layers of most CNNs) use a compact im2col with one
/// lowered row per (channel, kernel column) and one GEMM per kernel row (RowShiftedConvolution.swift).
/// See ``ConvolutionTuning``. Under ``Precision/bfloat16`` a `Float` convolution runs its three
/// products in bf16 with Float accumulation, as `torch.autocast("cpu", dtype=torch.bfloat16)` runs
/// `conv2d` (see ``Precision``): on the bf16 direct kernels for unit strides
/// (`BFloat16DirectConvolution`), else lowered with im2col to the bf16 GEMM.
/// - Precondition: the shapes and hyper-parameters fit (see ``Conv2d/validate(inChannels:outChannels:kernelSize:stride:padding:dilation:groups:inputShape:)``).
public func conv2d<Scalar>(
    _ x: Variable<Scalar>, weight: Variable<Scalar>, bias: Variable<Scalar>? = nil,
    stride: (Int, Int) = (1, 1), padding: (Int, Int) = (0, 0), dilation: (Int, Int) = (1, 1), groups: Int = 1
) -> Variable<Scalar> {
    let geometry: Convolution2DGeometry
    do {
        geometry = try Convolution2DGeometry(
            operation: "conv2d", input: x.shape, weight: weight.shape, bias: bias?.shape,
            stride: stride, padding: padding, dilation: dilation, groups: groups)
    } catch {
        preconditionFailure("\(error)")
    }
    var outShape = [geometry.batch, geometry.outChannels, geometry.outHeight, geometry.outWidth]
    if x.value.rank == 3 { outShape.removeFirst() }
    return convolution2D(x, weight: weight, bias: bias, geometry: geometry, outputShape: outShape)
}

/// 1-D cross-correlation over NCL tensors as one tape node, PyTorch's `F.conv1d`: the 2-D
/// convolution of `x` viewed as `[N, C, 1, L]` with a `[O, C/groups, 1, k]` kernel.
///
/// - Parameters: `x` `[N, C, L]` (or `[C, L]`), `weight` `[O, C/groups, k]`, `bias` `[O]`.
/// - Returns: `[N, O, Lo]` with `Lo = ⌊(L + 2p − d·(k − 1) − 1) / s⌋ + 1`.
public func conv1d<Scalar>(
    _ x: Variable<Scalar>, weight: Variable<Scalar>, bias: Variable<Scalar>? = nil,
    stride: Int = 1, padding: Int = 0, dilation: Int = 1, groups: Int = 1
) -> Variable<Scalar> {
    precondition(x.value.rank == 2 || x.value.rank == 3,
                 "conv1d: input must be [N, C, L] or [C, L], got shape \(x.shape)")
    precondition(weight.value.rank == 3, "conv1d: weight must be [out, in/groups, k], got shape \(weight.shape)")
    let input = x.value.rank == 3 ? [x.shape[0], x.shape[1], 1, x.shape[2]] : [x.shape[0], 1, x.shape[1]]
    let kernel = [weight.shape[0], weight.shape[1], 1, weight.shape[2]]
    let geometry: Convolution2DGeometry
    do {
        geometry = try Convolution2DGeometry(
            operation: "conv1d", input: input, weight: kernel, bias: bias?.shape,
            stride: (1, stride), padding: (0, padding), dilation: (1, dilation), groups: groups)
    } catch {
        preconditionFailure("\(error)")
    }
    var outShape = [geometry.batch, geometry.outChannels, geometry.outWidth]
    if x.value.rank == 2 { outShape.removeFirst() }
    return convolution2D(x, weight: weight, bias: bias, geometry: geometry, outputShape: outShape)
}

/// The shared tape node: the kernels read `x` and `weight` as flat buffers in the layout `geometry`
/// describes, whatever rank their declared shapes have.
private func convolution2D<Scalar>(
    _ x: Variable<Scalar>, weight: Variable<Scalar>, bias: Variable<Scalar>?,
    geometry: Convolution2DGeometry, outputShape: [Int]
) -> Variable<Scalar> {
    let xv = x.value, wv = weight.value
    let inputs = bias.map { [x, weight, $0] } ?? [x, weight]
    // The backward pass runs the algorithm the forward pass ran.
    let algorithm = ConvolutionAlgorithm.current
    if geometry.batch == 0 {
        // An empty batch: an empty output, and zero gradients for the parameters.
        return Variable(Tensor(zeros: outputShape), inputs: inputs) { _ in
            for input in inputs { input.accumulate(Tensor(zeros: input.shape)) }
        }
    }
    // Under bf16 (Float only; see ``Precision``) the GEMMs read bf16-rounded operands, the bias is
    // rounded as autocast casts it, and the output is rounded once after the Float bias add.
    let bf16 = usesBFloat16(Scalar.self)
    let biasValue = bias.map { bf16 ? roundedToBFloat16($0.value) : $0.value }
    let out = Tensor<Scalar>(shape: outputShape) { o in
        xv.withUnsafeBufferPointer { px in
            wv.withUnsafeBufferPointer { pw in
                if let bv = biasValue {
                    bv.withUnsafeBufferPointer { pb in
                        convolution2DForward(input: px.baseAddress!, weight: pw.baseAddress!, bias: pb.baseAddress!,
                                             output: o.baseAddress!, geometry: geometry, algorithm: algorithm, bf16: bf16)
                    }
                } else {
                    convolution2DForward(input: px.baseAddress!, weight: pw.baseAddress!, bias: nil,
                                         output: o.baseAddress!, geometry: geometry, algorithm: algorithm, bf16: bf16)
                }
            }
        }
        if bf16 { roundToBFloat16(o) }
    }
    return Variable(out, inputs: inputs) { upstream in
        // bf16: the incoming gradient is rounded once (the GEMMs would round it anyway; the bias
        // gradient sums the rounded values).
        let g = bf16 ? roundedToBFloat16(upstream) : upstream
        let wantsInput = x.requiresGradient, wantsWeight = weight.requiresGradient
        let wantsBias = bias?.requiresGradient ?? false
        // The kernel overwrites every element of the gradients it is asked for.
        var dx = Tensor<Scalar>(shape: wantsInput ? xv.shape : [0]) { _ in }
        var dw = Tensor<Scalar>(shape: wantsWeight ? wv.shape : [0]) { _ in }
        var db = Tensor<Scalar>(shape: wantsBias ? [geometry.outChannels] : [0]) { _ in }
        g.withUnsafeBufferPointer { pg in
            xv.withUnsafeBufferPointer { px in
                wv.withUnsafeBufferPointer { pw in
                    dx.withUnsafeMutableBufferPointer { pdx in
                        dw.withUnsafeMutableBufferPointer { pdw in
                            db.withUnsafeMutableBufferPointer { pdb in
                                convolution2DBackward(
                                    input: px.baseAddress!, weight: pw.baseAddress!, upstream: pg.baseAddress!,
                                    inputGradient: wantsInput ? pdx.baseAddress : nil,
                                    weightGradient: wantsWeight ? pdw.baseAddress : nil,
                                    biasGradient: wantsBias ? pdb.baseAddress : nil, geometry: geometry,
                                    algorithm: algorithm, bf16: bf16)
                                if bf16 { roundToBFloat16(pdx); roundToBFloat16(pdw); roundToBFloat16(pdb) }
                            }
                        }
                    }
                }
            }
        }
        if wantsInput { x.accumulate(dx) }
        if wantsWeight { weight.accumulate(dw) }
        if wantsBias, let bias { bias.accumulate(db) }
    }
}

/// Rounds a Float buffer's elements to bf16 in place (the caller has checked `Scalar == Float`).
private func roundToBFloat16<Scalar>(_ buffer: UnsafeMutableBufferPointer<Scalar>) {
    guard let base = buffer.baseAddress else { return }
    BFloat16Kernels.round(UnsafeMutableRawPointer(base).assumingMemoryBound(to: Float.self), count: buffer.count)
}

/// A copy of a Float tensor with its elements rounded to bf16 (the caller has checked `Scalar == Float`).
private func roundedToBFloat16<Scalar>(_ tensor: Tensor<Scalar>) -> Tensor<Scalar> {
    var copy = tensor
    copy.withUnsafeMutableBufferPointer { roundToBFloat16($0) }
    return copy
}

extension Convolution2DGeometry {
    /// Validates a convolution's operands and hyper-parameters, naming `operation` and the numbers in
    /// the error. `input` is `[N, C, H, W]` or `[C, H, W]`, `weight` `[O, C/groups, kH, kW]`.
    init(operation: String, input: [Int], weight: [Int], bias: [Int]?, stride: (Int, Int), padding: (Int, Int),
         dilation: (Int, Int), groups: Int) throws {
        func fail(_ message: String) -> NablaError { NablaError(.invalidArgument, "\(operation): \(message)") }
        guard input.count == 4 || input.count == 3 else {
            throw fail("input must be [N, C, H, W] or [C, H, W], got shape \(input)")
        }
        guard weight.count == 4, weight.allSatisfy({ $0 > 0 }) else {
            throw fail("weight must be [out_channels, in_channels/groups, kH, kW] with positive extents, got shape \(weight)")
        }
        guard stride.0 > 0, stride.1 > 0 else { throw fail("stride \(stride) must be positive") }
        guard padding.0 >= 0, padding.1 >= 0 else { throw fail("padding \(padding) must be non-negative") }
        guard dilation.0 > 0, dilation.1 > 0 else { throw fail("dilation \(dilation) must be positive") }
        guard groups > 0 else { throw fail("groups \(groups) must be positive") }
        let sample = input.suffix(3)
        let channels = sample[sample.startIndex], height = sample[sample.startIndex + 1], width = sample[sample.startIndex + 2]
        guard height > 0, width > 0 else { throw fail("input of shape \(input) has an empty plane") }
        guard weight[1] * groups == channels else {
            throw fail("input has \(channels) channels, expected \(weight[1] * groups) (weight \(weight), groups=\(groups))")
        }
        guard weight[0] % groups == 0 else {
            throw fail("out_channels \(weight[0]) is not divisible by groups \(groups)")
        }
        if let bias, bias != [weight[0]] {
            throw fail("bias must have shape [\(weight[0])], got \(bias)")
        }
        self.init(batch: input.count == 4 ? input[0] : 1, inChannels: channels, inHeight: height, inWidth: width,
                  outChannels: weight[0], kernelHeight: weight[2], kernelWidth: weight[3],
                  strideHeight: stride.0, strideWidth: stride.1, paddingHeight: padding.0, paddingWidth: padding.1,
                  dilationHeight: dilation.0, dilationWidth: dilation.1, groups: groups)
        guard outHeight >= 1, outWidth >= 1 else {
            throw fail("kernel \(weight[2])×\(weight[3]) with dilation \(dilation) is larger than the padded input "
                       + "\(height + 2 * padding.0)×\(width + 2 * padding.1)")
        }
    }
}
