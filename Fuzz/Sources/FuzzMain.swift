import Foundation
import Nabla

/// libFuzzer entry point of the one `nabla-fuzz` binary; `NABLA_FUZZ_TARGET` (see ``FuzzTargets``)
/// picks the parser. Run it through `make fuzz`, or by hand:
///
///     NABLA_FUZZ_TARGET=npy .build-fuzz/nabla-fuzz Fuzz/corpus/npy -max_total_time=60
///
/// A thrown ``NablaError`` is the expected outcome for bad input; any other error is reported as a
/// finding by trapping.
private let target: ([UInt8]) throws -> Void = {
    let name = ProcessInfo.processInfo.environment["NABLA_FUZZ_TARGET"] ?? ""
    guard let body = FuzzTargets.all[name] else {
        let names = FuzzTargets.all.keys.sorted().joined(separator: ", ")
        FileHandle.standardError.write(Data("nabla-fuzz: set NABLA_FUZZ_TARGET to one of \(names)\n".utf8))
        exit(2)
    }
    return body
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: size))
    do {
        try target(bytes)
    } catch is NablaError {
        // The expected outcome for hostile input.
    } catch {
        fatalError("a parser threw a non-NablaError: \(error)")
    }
    return 0
}
