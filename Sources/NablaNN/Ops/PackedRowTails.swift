/// Flat-mode output rows whose last partial vector is a whole fraction of a vector: the tails of
/// several rows share one vector instead of each padding its own.
///
/// In flat mode (``DirectConvolutionLayout``) each row of `Wo` outputs costs the `Wp` lanes of its row
/// of the padded grid: LeNet's 28-wide first layer on 8 lanes computes 32 lanes per row for 28
/// outputs, 12.5% of its multiply-adds spent on padding columns. Where the tail `t = Wo mod L` divides
/// `L`, the driver (``DirectCorrelation``) can instead
///
/// - run each row's `⌊Wo/L⌋` whole vectors as in row mode (*head* vectors, read at `oh·Wp + ow₀` of the
///   padded sample and written straight to `oh·Wo + ow₀`), and
/// - pack the tails of `k = L/t` consecutive rows into one *tail* vector, read from a per-sample copy of
///   the tail columns in which the `t` columns each kernel column `j` reads are consecutive across rows:
///
///       T[(j·C + c)·Hp·t + r·t + b] = X̂[c·Hp·Wp + r·Wp + (Wo − t) + j·dW + b],   r < Hp, b < t.
///
///   Lane `a·t + b` of the tail vector of rows `oh₀ …` is output `(oh₀ + a, Wo − t + b)`; its tap
///   `(c, i, j)` reads `X̂[c·Hp·Wp + (oh₀ + a + i·dH)·Wp + Wo − t + b + j·dW]`, which is
///   `T[(j·C + c)·Hp·t + i·dH·t + oh₀·t + a·t + b]`: one tap offset plus the vector's own `oh₀·t`, as
///   on the padded grid. Each output sums the same taps in the same order as in flat mode.
///
/// The copy is `kW·C·Hp·t` elements per sample against `(kW·kH·C)·mr` multiply-adds per output vector;
/// the layout packs only where it saves vectors (``init(_:)``).
struct PackedRowTails {
    let layout: DirectConvolutionLayout
    /// Output columns in each row's tail, `t = Wo mod L`.
    let tailWidth: Int
    /// Rows whose tails share one vector, `k = L/t`.
    let rowsPerVector: Int

    /// The packing of `layout`, or `nil` where it does not apply (row mode, `t ∤ L`) or computes no
    /// fewer vectors than flat mode (``DirectConvolutionLayout/vectorCount``).
    init?(_ layout: DirectConvolutionLayout) {
        guard layout.isValid && !layout.isRowMode && layout.lanes % (layout.outWidth % layout.lanes) == 0 else { return nil }
        self.layout = layout
        tailWidth = layout.outWidth % layout.lanes
        rowsPerVector = layout.lanes / tailWidth
        guard vectorCount < layout.vectorCount else { return nil }
    }

    /// Whole vectors per output row.
    var headsPerRow: Int { layout.outWidth / layout.lanes }
    var headVectors: Int { layout.outHeight * headsPerRow }
    var tailVectors: Int { (layout.outHeight + rowsPerVector - 1) / rowsPerVector }
    /// Vectors per sample and output channel: heads and tails.
    var vectorCount: Int { headVectors + tailVectors }

    /// Elements of one `(j, c)` plane of the tail copy, `Hp·t`.
    var tailPlane: Int { layout.paddedHeight * tailWidth }
    /// Elements of the tail copy, with `L` of slack that the last, partial tail vector may read past
    /// the last plane (its rows past `Ho`, discarded), rounded to whole cache lines.
    var bufferCount: Int { paddedToCacheLine(layout.kernelWidth * layout.channels * tailPlane + layout.lanes) }

    /// Head vector `v`: where it reads in the padded sample (relative to a tap's offset) and writes in
    /// the output plane, and its valid lanes (all: a head lies inside its row), as
    /// ``DirectConvolutionLayout/vectorOffsets(_:)`` gives them for row and flat mode.
    func head(_ v: Int) -> (input: Int, output: Int, valid: Int) {
        let row = v / headsPerRow, column = (v - row * headsPerRow) * layout.lanes
        return (row * layout.paddedWidth + column, row * layout.outWidth + column, layout.lanes)
    }

    /// The output rows of head vectors `first...last`.
    func headRows(ofVectors first: Int, _ last: Int) -> (first: Int, last: Int) {
        (first / headsPerRow, last / headsPerRow)
    }

    /// Tail vector `v`: where it reads in the tail copy (relative to a tail tap's offset), where its
    /// first row's tail starts in the output plane, and how many of its `k` rows are output rows.
    func tail(_ v: Int) -> (input: Int, output: Int, rows: Int) {
        let row = v * rowsPerVector
        return (row * tailWidth, row * layout.outWidth + layout.outWidth - tailWidth,
                Swift.min(rowsPerVector, layout.outHeight - row))
    }

    /// The output rows of tail vectors `first...last`.
    func tailRows(ofVectors first: Int, _ last: Int) -> (first: Int, last: Int) {
        (first * rowsPerVector, Swift.min(layout.outHeight - 1, last * rowsPerVector + rowsPerVector - 1))
    }

    /// Writes the tail copy's offset of every tap, numbered as
    /// ``DirectConvolutionLayout/writeTapOffsets(_:padding:kernelRowMajor:)`` numbers them
    /// (kernel-row-major: `k = (i·C + c)·kW + j`): `(j·C + c)·Hp·t + i·dH·t`.
    func writeTapOffsets(_ taps: UnsafeMutablePointer<Int>) {
        let channels = layout.channels, kW = layout.kernelWidth
        for i in 0..<layout.kernelHeight {
            for c in 0..<channels {
                for j in 0..<kW {
                    taps[(i * channels + c) * kW + j] = (j * channels + c) * tailPlane + i * layout.dilationHeight * tailWidth
                }
            }
        }
    }

    /// Fills the tail copy `tails` (``bufferCount`` elements; the slack is not written) from one padded
    /// sample `padded` (``DirectConvolutionLayout/paddedSampleCount`` elements).
    func copyTails<Element>(_ padded: UnsafePointer<Element>, into tails: UnsafeMutablePointer<Element>) {
        let t = tailWidth, channels = layout.channels, first = layout.outWidth - t
        for j in 0..<layout.kernelWidth {
            for c in 0..<channels {
                copyRows(tails + (j * channels + c) * tailPlane, pitch: t,
                         padded + (c * layout.paddedPlane + first + j * layout.dilationWidth), pitch: layout.paddedWidth,
                         rows: layout.paddedHeight, count: t)
            }
        }
    }
}

extension DirectConvolutionLayout {
    /// Vectors per sample and output channel that the correlation driver (``DirectCorrelation``)
    /// computes: the packed heads and tails where ``PackedRowTails`` applies, else ``vectorCount``. The
    /// cost models that weigh the pixel kernels against other kernels count these.
    var computedVectorCount: Int { PackedRowTails(self)?.vectorCount ?? vectorCount }

    /// ``computedVectorCount`` in groups of `nv` (a partial group repeats its last vector): heads and
    /// tails are grouped apart.
    func computedVectors(groupsOf nv: Int) -> Int {
        func grouped(_ vectors: Int) -> Int { (vectors + nv - 1) / nv * nv }
        guard let packing = PackedRowTails(self) else { return grouped(vectorCount) }
        return grouped(packing.headVectors) + grouped(packing.tailVectors)
    }
}
