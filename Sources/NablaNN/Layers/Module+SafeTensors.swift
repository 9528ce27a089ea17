import Foundation
import NablaTensor
import NablaIO

extension Module {
    /// The state dictionary as a safetensors file: parameters and float buffers in this module's scalar
    /// type, integer buffers (`num_batches_tracked`) as I64 — what PyTorch's `save_file(model.state_dict())`
    /// writes, so either side loads the other's file.
    public func stateDictFile(metadata: [String: String] = [:]) -> SafeTensorsFile {
        let integers = integerState()
        var file = SafeTensorsFile(metadata: metadata)
        for (key, tensor) in stateDict() {
            file.tensors[key] = integers[key].map { SafeTensor(int64: $0, shape: tensor.shape) } ?? SafeTensor(tensor)
        }
        return file
    }

    /// Saves the state dictionary to a `.safetensors` file, atomically, with `metadata` as the
    /// file's `__metadata__` (string pairs that PyTorch's loader ignores).
    public func save(to url: URL, metadata: [String: String] = [:]) throws { try stateDictFile(metadata: metadata).write(to: url) }

    /// Loads a `.safetensors` state dictionary (any float or integer dtype is converted; integer
    /// entries of integer buffers are kept exactly).
    /// - Throws: ``/NablaTensor/NablaError`` for an unreadable or malformed file, or a missing, unexpected or
    ///   wrongly shaped key (when `strict`), naming the file.
    public func load(from url: URL, strict: Bool = true) throws {
        let file = try SafeTensorsFile.read(from: url)
        do {
            try loadStateDict(file.tensors.mapValues { $0.tensor(as: Scalar.self) }, strict: strict)
            try loadIntegerState(file.tensors.filter { [.i64, .i32].contains($0.value.dtype) }.mapValues { $0.intValues.map(Int64.init) })
        } catch let error as NablaError {
            throw NablaError(error.kind, "\(url.path): \(error.message)")
        }
    }
}

extension Int64 {
    /// `value` rounded toward zero and clamped to `Int64`'s range, NaN as 0: an integer buffer kept
    /// as floating point (a float `num_batches_tracked` near 2⁶³ rounds past `Int64.max`) is saved
    /// without trapping.
    package init(saturating value: Double) {
        if value.isNaN {
            self = 0
        } else if value >= 9_223_372_036_854_775_807.0 {
            self = .max
        } else if value <= -9_223_372_036_854_775_808.0 {
            self = .min
        } else {
            self = Int64(value)
        }
    }
}
