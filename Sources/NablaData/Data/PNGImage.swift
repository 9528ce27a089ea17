import Foundation
import NablaTensor
import CPNG

/// A PNG image decoded by the system's libpng (its simplified `png_image` API): 8-bit channels,
/// gray or RGB, rows top to bottom, channels interleaved (`HWC`).
///
/// Every PNG color type, bit depth and interlacing is accepted. An alpha channel is dropped, as
/// PIL's `Image.convert("RGB")`/`convert("L")` (torchvision's image loader) drops it; 16-bit samples
/// are scaled to 8 bits as sRGB-encoded values (`PNG_IMAGE_FLAG_16BIT_sRGB`), and palette images
/// are expanded.
public struct PNGImage: Equatable, Sendable {
    /// Pixels per row.
    public let width: Int
    /// Rows.
    public let height: Int
    /// 1 (gray) or 3 (RGB).
    public let channels: Int
    /// `height × width × channels` bytes.
    public let pixels: [UInt8]

    /// The largest image decoded, in pixels (a 16384 × 16384 image): a header declaring more is a
    /// corrupt or hostile file, refused before anything is allocated.
    public static let maximumPixelCount = 1 << 28

    /// An image of `pixels` (`height × width × channels` bytes, `channels` 1 or 3).
    public init(width: Int, height: Int, channels: Int, pixels: [UInt8]) {
        precondition(channels == 1 || channels == 3, "PNGImage: \(channels) channels, expected 1 or 3")
        precondition(width > 0 && height > 0 && pixels.count == width * height * channels,
                     "PNGImage: \(pixels.count) bytes for \(width)×\(height)×\(channels)")
        self.width = width
        self.height = height
        self.channels = channels
        self.pixels = pixels
    }

    /// The size and color of a PNG file's header, without decoding the pixels.
    public struct Header: Equatable, Sendable {
        /// Pixels per row.
        public let width: Int
        /// Rows.
        public let height: Int
        /// Whether the image has color (else it is gray).
        public let isColor: Bool
    }

    /// Reads the header of PNG `bytes`; `name` names the file in errors.
    /// - Throws: ``NablaError`` (`.invalidFile`) with libpng's message for bytes that are not a PNG image.
    public static func header(of bytes: [UInt8], name: String) throws -> Header {
        var image = png_image()
        try begin(&image, bytes, name: name)
        defer { png_image_free(&image) }
        return Header(width: Int(image.width), height: Int(image.height), isColor: image.format & nabla_png_format_flag_color != 0)
    }

    /// Decodes PNG `bytes` to 8-bit gray (`color: false`) or RGB (`color: true`; gray images are
    /// replicated to three channels); `name` names the file in errors.
    /// - Throws: ``NablaError`` (`.invalidFile`) for bytes that are not a valid PNG image, naming the file.
    public static func decode(_ bytes: [UInt8], name: String, color: Bool) throws -> PNGImage {
        var image = png_image()
        try begin(&image, bytes, name: name)
        let hasAlpha = image.format & nabla_png_format_flag_alpha != 0
        image.format = color ? (hasAlpha ? nabla_png_format_rgba : nabla_png_format_rgb)
                             : (hasAlpha ? nabla_png_format_gray_alpha : nabla_png_format_gray)
        image.flags |= nabla_png_flag_16bit_srgb
        let (width, height) = (Int(image.width), Int(image.height))
        let stored = (color ? 3 : 1) + (hasAlpha ? 1 : 0)
        var buffer = [UInt8](repeating: 0, count: width * height * stored)
        let ok = buffer.withUnsafeMutableBytes { out in
            png_image_finish_read(&image, nil, out.baseAddress, png_int_32(width * stored), nil)
        }
        guard ok != 0 else {
            let message = String(cString: nabla_png_message(&image))
            png_image_free(&image)
            throw NablaError(.invalidFile, "\(name): not a valid PNG image (libpng: \(message))")
        }
        let channels = color ? 3 : 1
        guard hasAlpha else { return PNGImage(width: width, height: height, channels: channels, pixels: buffer) }
        var pixels = [UInt8](repeating: 0, count: width * height * channels)
        for p in 0..<(width * height) {
            for c in 0..<channels { pixels[p * channels + c] = buffer[p * stored + c] }
        }
        return PNGImage(width: width, height: height, channels: channels, pixels: pixels)
    }

    /// Starts reading `bytes` into `image` and checks the declared size.
    private static func begin(_ image: inout png_image, _ bytes: [UInt8], name: String) throws {
        image.version = nabla_png_image_version
        guard !bytes.isEmpty else { throw NablaError(.invalidFile, "\(name): not a PNG image (the file is empty)") }
        let ok = bytes.withUnsafeBytes { png_image_begin_read_from_memory(&image, $0.baseAddress, $0.count) }
        guard ok != 0 else {
            let message = String(cString: nabla_png_message(&image))
            png_image_free(&image)
            throw NablaError(.invalidFile, "\(name): not a valid PNG image (libpng: \(message))")
        }
        let (width, height) = (Int(image.width), Int(image.height))
        // PNG limits each side to 2³¹ − 1, so the product cannot overflow an Int.
        guard width > 0, height > 0, width * height <= maximumPixelCount else {
            png_image_free(&image)
            throw NablaError(.invalidFile, "\(name): a \(width)×\(height) PNG image is larger than \(maximumPixelCount) pixels")
        }
    }

    /// The image as `[channels, height, width]` floats in `[0, 1]` (`byte / 255`, torchvision's
    /// `ToTensor`), written to `out`.
    /// - Precondition: `out.count == channels × height × width`.
    public func writeFloats(into out: UnsafeMutableBufferPointer<Float>) {
        precondition(out.count == pixels.count, "PNGImage.writeFloats: \(out.count) floats for \(pixels.count) samples")
        let plane = width * height
        for p in 0..<plane {
            for c in 0..<channels { out[c * plane + p] = Float(pixels[p * channels + c]) / 255 }
        }
    }

    /// The image encoded as a PNG file (8-bit gray or RGB, libpng's default compression).
    /// - Throws: ``NablaError`` with libpng's message if encoding fails.
    public func encoded() throws -> [UInt8] {
        var image = png_image()
        image.version = nabla_png_image_version
        image.width = png_uint_32(width)
        image.height = png_uint_32(height)
        image.format = channels == 3 ? nabla_png_format_rgb : nabla_png_format_gray
        var size: png_alloc_size_t = 0
        let stride = png_int_32(width * channels)
        guard pixels.withUnsafeBytes({ png_image_write_to_memory(&image, nil, &size, 0, $0.baseAddress, stride, nil) }) != 0 else {
            throw NablaError(.io, "PNG encoding failed (libpng: \(String(cString: nabla_png_message(&image))))")
        }
        var output = [UInt8](repeating: 0, count: Int(size))
        let ok = output.withUnsafeMutableBytes { out in
            pixels.withUnsafeBytes { png_image_write_to_memory(&image, out.baseAddress, &size, 0, $0.baseAddress, stride, nil) }
        }
        guard ok != 0 else { throw NablaError(.io, "PNG encoding failed (libpng: \(String(cString: nabla_png_message(&image))))") }
        return Array(output.prefix(Int(size)))
    }
}
