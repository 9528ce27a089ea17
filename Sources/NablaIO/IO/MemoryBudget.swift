import Foundation
import NablaTensor

/// The memory a process may plan to use, checked *before* large allocations: a model's training
/// footprint at its batch size, test-time-augmentation crops, decompressed files.
///
/// The default is ``defaultFraction`` (75%) of the memory the process can have: the least of the
/// physical memory (`/proc/meminfo` `MemTotal`, else `sysconf`), the cgroup limit
/// (`/sys/fs/cgroup/memory.max`, or v1's `memory.limit_in_bytes`) and the `RLIMIT_AS`/`RLIMIT_DATA`
/// resource limits. `nabla … --max-memory SIZE` replaces it for one command.
///
/// The budget in effect is task-local (``current``), like ``GradientMode``: a command runs its work
/// inside `MemoryBudget.$current.withValue(budget) { … }`, and code deep inside data loading reads
/// it without the budget being threaded through every call.
public struct MemoryBudget: Sendable, Equatable, CustomStringConvertible {
    /// The budget in bytes.
    public var bytes: Int
    /// Where the figure comes from, for messages: `"--max-memory 2 GiB"`, `"75% of 23.5 GiB"`.
    public var origin: String

    /// The fraction of the process's available memory that is the default budget.
    public static let defaultFraction = 0.75

    /// A decompressed stream may be at most this many times larger than its compressed bytes once it
    /// exceeds ``ratioCheckFloor``: beyond it the file is refused as a likely decompression bomb.
    /// Real data compresses far less (MNIST's gzip files 4–8×, float `.npz` arrays 1–3×); DEFLATE
    /// itself cannot exceed 1032×.
    public static let maximumDecompressionRatio = 256
    /// Decompressed sizes up to this many bytes (16 MiB) are not ratio-checked: small, very
    /// repetitive files are harmless.
    public static let ratioCheckFloor = 16 << 20

    public init(bytes: Int, origin: String) {
        self.bytes = bytes
        self.origin = origin
    }

    public var description: String { origin }

    /// The budget in effect for the current task: ``default`` unless a caller bound another.
    @TaskLocal public static var current = MemoryBudget.default

    /// ``defaultFraction`` of ``availableBytes``.
    public static let `default`: MemoryBudget = {
        let available = availableBytes
        let bytes = Int(Double(available) * defaultFraction)
        return MemoryBudget(bytes: bytes, origin: "\(Int(defaultFraction * 100))% of the \(format(available)) this process may use; set --max-memory to change it")
    }()

    /// The memory this process can have: physical memory, capped by a cgroup limit and the
    /// address-space and data-segment resource limits.
    public static var availableBytes: Int {
        var limits: [Int] = [physicalBytes]
        for path in ["/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"] {
            if let text = try? String(contentsOfFile: path, encoding: .utf8),
               let value = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)), value > 0 {
                limits.append(value)
            }
        }
        for resource in [RLIMIT_AS, RLIMIT_DATA] {
            var limit = rlimit()
            #if os(Linux)
            let status = getrlimit(__rlimit_resource_t(resource.rawValue), &limit)
            #else
            let status = getrlimit(resource, &limit)
            #endif
            // RLIM_INFINITY is all ones, beyond Int.max.
            if status == 0, limit.rlim_cur < rlim_t(Int.max) { limits.append(Int(limit.rlim_cur)) }
        }
        return limits.min() ?? physicalBytes
    }

    /// Physical memory: `MemTotal` of `/proc/meminfo`, else `sysconf(_SC_PHYS_PAGES) × page size`.
    public static var physicalBytes: Int {
        if let text = try? String(contentsOfFile: "/proc/meminfo", encoding: .utf8),
           let line = text.split(separator: "\n").first(where: { $0.hasPrefix("MemTotal:") }),
           let kibibytes = Int(line.split(separator: " ").dropFirst().first ?? ""), kibibytes > 0 {
            return kibibytes.multipliedReportingOverflow(by: 1024).overflow ? Int.max : kibibytes * 1024
        }
        let pages = sysconf(Int32(_SC_PHYS_PAGES)), size = sysconf(Int32(_SC_PAGESIZE))
        guard pages > 0, size > 0 else { return 8 << 30 }
        return pages.multipliedReportingOverflow(by: size).overflow ? Int.max : pages * size
    }

    /// Parses a `--max-memory` value: bytes (`1000000`), a size with a binary unit (`512M`, `1.5G`,
    /// `2GiB`, `64k`; K, M, G, T = 2¹⁰, 2²⁰, 2³⁰, 2⁴⁰), or a percentage of ``availableBytes`` (`50%`).
    /// - Throws: ``/NablaTensor/NablaError`` (`.invalidArgument`) naming the flag for anything else, or a size that
    ///   is not positive.
    public init(parsing spec: String, flag: String = "--max-memory") throws {
        let text = spec.trimmingCharacters(in: .whitespaces)
        func fail() -> NablaError {
            NablaError(.invalidArgument, "\(flag) \(spec): expected a size such as 4G, 512M, 1000000 or a percentage such as 50%")
        }
        if text.hasSuffix("%") {
            guard let percent = Double(text.dropLast()), percent > 0, percent <= 100 else { throw fail() }
            let bytes = Int(Double(Self.availableBytes) * percent / 100)
            self.init(bytes: Swift.max(bytes, 1), origin: "\(flag) \(text) of \(Self.format(Self.availableBytes))")
            return
        }
        var number = Substring(text)
        var unit = 1.0
        let lowered = text.lowercased()
        for (suffixes, scale) in [(["tib", "tb", "t"], 1099511627776.0), (["gib", "gb", "g"], 1073741824.0),
                                  (["mib", "mb", "m"], 1048576.0), (["kib", "kb", "k"], 1024.0), (["b"], 1.0)] {
            if let suffix = suffixes.first(where: { lowered.hasSuffix($0) }) {
                number = text.dropLast(suffix.count)
                unit = scale
                break
            }
        }
        guard let value = Double(number.trimmingCharacters(in: .whitespaces)), value.isFinite, value > 0 else { throw fail() }
        let bytes = value * unit
        guard bytes >= 1 else { throw fail() }
        self.init(bytes: bytes >= Double(Int.max) ? Int.max : Int(bytes), origin: "\(flag) \(text)")
    }

    /// Throws unless `bytes` fits the budget.
    /// - Parameter what: the subject of the message (`"--model lenet-bn at batch size 128"`), then
    ///   `detail` (what dominates the estimate).
    public func check(_ bytes: Int, _ what: @autoclosure () -> String, detail: @autoclosure () -> String = "") throws {
        guard bytes > self.bytes else { return }
        let extra = detail()
        throw NablaError(.invalidArgument, "\(what()): needs about \(Self.format(bytes))\(extra.isEmpty ? "" : " (\(extra))"), more than the memory cap of \(Self.format(self.bytes)) (\(origin))")
    }

    /// Throws unless decompressing `compressed` bytes into `declared` bytes fits the budget and the
    /// ``maximumDecompressionRatio``.
    /// - Parameter name: the file (and entry) for the message.
    public func checkDecompression(declared: Int, compressed: Int, name: String) throws {
        if declared > Self.ratioCheckFloor,
           declared / Swift.max(compressed, 1) >= Self.maximumDecompressionRatio {
            throw NablaError(.invalidFile, "\(name): declares \(Self.format(declared)) of data in \(Self.format(compressed)) of compressed bytes, a ratio above \(Self.maximumDecompressionRatio):1; refused as a likely decompression bomb")
        }
        guard declared > bytes else { return }
        throw NablaError(.invalidFile, "\(name): declares \(Self.format(declared)) of decompressed data, more than the memory cap of \(Self.format(bytes)) (\(origin))")
    }

    /// `bytes` in binary units with three significant digits: `512 B`, `1.50 KiB`, `40.2 GiB`.
    public static func format(_ bytes: Int) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"]
        var value = Double(bytes)
        var unit = 0
        while value >= 1024 && unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        if unit == 0 { return "\(bytes) B" }
        return String(format: value >= 100 ? "%.0f" : value >= 10 ? "%.1f" : "%.2f", value) + " " + units[unit]
    }
}
