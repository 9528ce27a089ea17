import Foundation
import NablaTensor

/// Standard output and error for a command-line tool whose streams may be closed, full or a pipe
/// whose reader went away (`nabla train … | head -1`, `>/dev/full`, `2>&-`).
///
/// - ``prepare()`` (first thing in `main`) ignores `SIGPIPE`, so a vanished reader is the error
///   `EPIPE` instead of death in the middle of a checkpoint write, and reopens a closed descriptor
///   0, 1 or 2 on `/dev/null` — otherwise the next file opened (a checkpoint, a log) would get that
///   number and progress lines would be written into it.
/// - ``note(_:)`` writes diagnostics to standard error, best effort: a failure is ignored and never
///   stops training.
/// - ``writeResult(_:)`` writes the result a command exists to produce to standard output and
///   throws when it cannot be written completely (or standard output was closed at start), so the
///   command exits non-zero instead of reporting success for a result nobody received.
public enum StandardStreams {
    nonisolated(unsafe) private static var closedAtStart: Set<Int32> = []

    /// Ignores `SIGPIPE` and reopens closed standard descriptors on `/dev/null` (remembering which).
    public static func prepare() {
        signal(SIGPIPE, SIG_IGN)
        for descriptor: Int32 in [0, 1, 2] where fcntl(descriptor, F_GETFD) == -1 && errno == EBADF {
            let opened = open("/dev/null", descriptor == 0 ? O_RDONLY : O_WRONLY)
            if opened >= 0 && opened != descriptor {
                dup2(opened, descriptor)
                close(opened)
            }
            closedAtStart.insert(descriptor)
        }
    }

    /// Writes `text` to standard error; failures (a closed or full stream) are ignored.
    public static func note(_ text: String) {
        _ = writeAll(Array(text.utf8), to: 2)
    }

    /// Writes `text` to standard output completely.
    /// - Throws: ``/NablaTensor/NablaError`` (`.io`) `"standard output: cannot write the result (<reason>)"`.
    public static func writeResult(_ text: String) throws {
        fflush(stdout)  // keep the order of anything `print` buffered
        if closedAtStart.contains(1) {
            throw NablaError(.io, "standard output: cannot write the result (it was closed)")
        }
        if let failure = writeAll(Array(text.utf8), to: 1) {
            throw NablaError(.io, "standard output: cannot write the result (\(failure))")
        }
    }

    /// Writes every byte, retrying after `EINTR`; returns `strerror` of a failure.
    private static func writeAll(_ bytes: [UInt8], to descriptor: Int32) -> String? {
        bytes.withUnsafeBytes { raw -> String? in
            var offset = 0
            while offset < raw.count {
                let written = write(descriptor, raw.baseAddress! + offset, raw.count - offset)
                if written < 0 && errno == EINTR { continue }
                guard written > 0 else { return String(cString: strerror(written < 0 ? errno : EIO)) }
                offset += written
            }
            return nil
        }
    }
}
