/// Copies and zero-fills of the short contiguous spans that im2col moves (one output row of a
/// convolution: 5 to 32 elements on the reference models), without a call into `memmove`/`memset`
/// per span: the call and its size dispatch cost more than the copy itself at these lengths.
///
/// Spans are moved as raw bytes with overlapping fixed-size loads and stores (a span of 12 bytes is
/// two 8-byte moves at offsets 0 and 4), so there is no per-byte tail loop; spans of 256 bytes and
/// more go to the C library. Element sizes are multiples of 4 bytes (`Float`, `Double`).
@inline(__always)
func copySpan<Scalar>(_ destination: UnsafeMutablePointer<Scalar>, _ source: UnsafePointer<Scalar>, count: Int) {
    let bytes = count &* MemoryLayout<Scalar>.stride
    if bytes >= 256 {
        destination.update(from: source, count: count)
        return
    }
    let d = UnsafeMutableRawPointer(destination), s = UnsafeRawPointer(source)
    if bytes >= 32 {
        var offset = 0
        while offset &+ 32 <= bytes {
            d.storeBytes(of: s.loadUnaligned(fromByteOffset: offset, as: SIMD8<Float>.self), toByteOffset: offset,
                         as: SIMD8<Float>.self)
            offset &+= 32
        }
        if offset < bytes {
            let last = bytes &- 32
            d.storeBytes(of: s.loadUnaligned(fromByteOffset: last, as: SIMD8<Float>.self), toByteOffset: last,
                         as: SIMD8<Float>.self)
        }
    } else if bytes >= 16 {
        d.storeBytes(of: s.loadUnaligned(as: SIMD4<Float>.self), as: SIMD4<Float>.self)
        d.storeBytes(of: s.loadUnaligned(fromByteOffset: bytes &- 16, as: SIMD4<Float>.self), toByteOffset: bytes &- 16,
                     as: SIMD4<Float>.self)
    } else if bytes >= 8 {
        d.storeBytes(of: s.loadUnaligned(as: UInt64.self), as: UInt64.self)
        d.storeBytes(of: s.loadUnaligned(fromByteOffset: bytes &- 8, as: UInt64.self), toByteOffset: bytes &- 8,
                     as: UInt64.self)
    } else if bytes >= 4 {
        d.storeBytes(of: s.loadUnaligned(as: UInt32.self), as: UInt32.self)
    }
}

/// Sets `count` elements at `destination` to zero (all-zero bits, which is `+0.0` for IEEE floats).
@inline(__always)
func zeroSpan<Scalar>(_ destination: UnsafeMutablePointer<Scalar>, count: Int) {
    let bytes = count &* MemoryLayout<Scalar>.stride
    if bytes >= 256 {
        UnsafeMutableRawPointer(destination).initializeMemory(as: UInt8.self, repeating: 0, count: bytes)
        return
    }
    let d = UnsafeMutableRawPointer(destination)
    if bytes >= 32 {
        var offset = 0
        while offset &+ 32 <= bytes {
            d.storeBytes(of: SIMD8<Float>(), toByteOffset: offset, as: SIMD8<Float>.self)
            offset &+= 32
        }
        if offset < bytes { d.storeBytes(of: SIMD8<Float>(), toByteOffset: bytes &- 32, as: SIMD8<Float>.self) }
    } else if bytes >= 16 {
        d.storeBytes(of: SIMD4<Float>(), as: SIMD4<Float>.self)
        d.storeBytes(of: SIMD4<Float>(), toByteOffset: bytes &- 16, as: SIMD4<Float>.self)
    } else if bytes >= 8 {
        d.storeBytes(of: UInt64(0), as: UInt64.self)
        d.storeBytes(of: UInt64(0), toByteOffset: bytes &- 8, as: UInt64.self)
    } else if bytes >= 4 {
        d.storeBytes(of: UInt32(0), as: UInt32.self)
    }
}

/// Copies `rows` spans of `count` elements each, the spans `sourcePitch` elements apart at `source`
/// and `targetPitch` apart at `destination` — a strided column block, such as the packed row tails
/// (``PackedRowTails``). The size dispatch is made once for all rows, so a 16-byte span is one load
/// and one store per row (``copySpan(_:_:count:)`` per row spent more on its dispatch and index
/// arithmetic than on the move: AVX2 LeNet 1→6).
@inline(__always)
func copyRows<Scalar>(_ destination: UnsafeMutablePointer<Scalar>, pitch targetPitch: Int,
                      _ source: UnsafePointer<Scalar>, pitch sourcePitch: Int, rows: Int, count: Int) {
    let size = MemoryLayout<Scalar>.stride, bytes = count &* size
    var d = UnsafeMutableRawPointer(destination), s = UnsafeRawPointer(source)
    let targetStep = targetPitch &* size, sourceStep = sourcePitch &* size
    @inline(__always)
    func move<Chunk>(_: Chunk.Type) {
        for _ in 0..<rows {
            d.storeBytes(of: s.loadUnaligned(as: Chunk.self), as: Chunk.self)
            d += targetStep
            s += sourceStep
        }
    }
    switch bytes {
    case 4: move(UInt32.self)
    case 8: move(UInt64.self)
    case 16: move(SIMD4<UInt32>.self)
    case 32: move(SIMD8<UInt32>.self)
    default:
        for _ in 0..<rows {
            copySpan(d.assumingMemoryBound(to: Scalar.self), s.assumingMemoryBound(to: Scalar.self), count: count)
            d += targetStep
            s += sourceStep
        }
    }
}
