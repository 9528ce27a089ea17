import Foundation
import NablaIO

/// Datasets stored as named arrays: NumPy `.npz` archives (`np.savez(FILE, x=X, y=Y)`, entries
/// `x.npy`, `y.npy`, optionally `x_test.npy`, `y_test.npy`) and `.safetensors` files (tensors `x`, `y`,
/// optionally `x_test`, `y_test`). The conventions for inputs and targets are ``ArrayDataset``'s.
enum ArrayFileDatasets {
    /// Loads an `.npz` archive (stored or deflated entries).
    static func loadNPZ(_ url: URL, name: String) throws -> (train: Dataset, test: Dataset?) {
        try parseNPZ(try FileBytes.read(url), file: url.path, name: name)
    }

    /// Parses the bytes of an `.npz` archive; `file` names it in errors.
    static func parseNPZ(_ bytes: [UInt8], file: String, name: String) throws -> (train: Dataset, test: Dataset?) {
        let archive = try ZipArchive(bytes, name: file)
        return try ArrayDataset.make(file: file, name: name) { key in
            guard let entry = archive.entry(named: key + ".npy") else { return nil }
            let array = try NumPyArray.parse(try archive.contents(of: entry), name: "\(file): \(key).npy")
            if let integers = array.integers() { return .integers(shape: array.shape, values: integers) }
            return .floats(shape: array.shape, values: array.floats())
        }
    }

    /// Loads a `.safetensors` file: float tensors are inputs or regression targets, integer tensors
    /// (`I64`, `I32`, `U8`) labels.
    static func loadSafeTensors(_ url: URL, name: String) throws -> (train: Dataset, test: Dataset?) {
        let file = try SafeTensorsFile.read(from: url)
        return try ArrayDataset.make(file: url.path, name: name) { key in
            guard let tensor = file.tensors[key] else { return nil }
            switch tensor.dtype {
            case .f32, .f64:
                return .floats(shape: tensor.shape, values: tensor.tensor(as: Float.self).scalars)
            case .i64, .i32, .u8:
                return .integers(shape: tensor.shape, values: tensor.intValues)
            }
        }
    }
}
