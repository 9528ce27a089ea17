import Foundation
import NablaTensor
import NablaIO

extension Module {
    /// The state dictionary as a safetensors file: parameters and float buffers in this module's scalar
    /// type, integer buffers (`num_batches_tracked`) as I64 — what PyTorch's `save_file(model.state_dict())`
    /// writes, so either side loads the other's file.
    public func stateDictFile(metadata: [String: String] = [:]) -> SafeTensorsFile {
        let integers = integerStateKeys
        var file = SafeTensorsFile(metadata: metadata)
        for (key, tensor) in stateDict() {
            file.tensors[key] = integers.contains(key)
                ? SafeTensor(int64: tensor.scalars.map { Int64($0) }, shape: tensor.shape)
                : SafeTensor(tensor)
        }
        return file
    }

    /// Saves the state dictionary to a `.safetensors` file, atomically, with `metadata` as the
    /// file's `__metadata__` (string pairs that PyTorch's loader ignores).
    public func save(to url: URL, metadata: [String: String] = [:]) throws { try stateDictFile(metadata: metadata).write(to: url) }

    /// Loads a `.safetensors` state dictionary (any float or integer dtype is converted).
    /// - Throws: ``/NablaTensor/NablaError`` for an unreadable or malformed file, or a missing, unexpected or
    ///   wrongly shaped key (when `strict`), naming the file.
    public func load(from url: URL, strict: Bool = true) throws {
        let file = try SafeTensorsFile.read(from: url)
        do {
            try loadStateDict(file.tensors.mapValues { $0.tensor(as: Scalar.self) }, strict: strict)
        } catch let error as NablaError {
            throw NablaError(error.kind, "\(url.path): \(error.message)")
        }
    }
}
