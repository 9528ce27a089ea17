import Foundation
import NablaTensor
import NablaIO

/// Inputs without targets, for prediction (`nabla predict --input PATH`), with a name per sample.
///
/// | `PATH` | inputs | sample names |
/// |---|---|---|
/// | a folder | its PNG images (its own, else those of its class folders; see ``ImageFolder``) | the files' paths below the folder |
/// | `FILE.safetensors` | tensor `x` | row indices from 0 |
/// | `FILE.npz` | array `x.npy` | row indices |
/// | `FILE.npy` | the array, samples on its leading axis | row indices |
/// | `FILE.csv` | every column (a header is detected), or every column but `target` | row indices |
///
/// Inputs convert to `Float` and must be finite; a rank-1 array of `N` values is `N` samples of one value.
public struct UnlabelledInputs: Sendable {
    /// Samples on the leading axis.
    public var inputs: Tensor<Float>
    /// One name per sample.
    public var sampleNames: [String]

    /// Reads `path`; `target` names a CSV column to leave out (the labels of a training file), and
    /// `color` decodes images as RGB (`true`), gray (`false`) or as they are (`nil`).
    /// - Throws: ``NablaError`` for a missing or malformed file, naming it.
    public static func read(_ path: String, target: String? = nil, color: Bool? = nil) throws -> UnlabelledInputs {
        let url = URL(fileURLWithPath: path)
        if ImageFolder.isDirectory(url) {
            let files = try ImageFolder.imageFiles(in: url)
            let base = url.standardizedFileURL.path
            let names = files.map { file -> String in
                let full = file.standardizedFileURL.path
                return full.hasPrefix(base + "/") ? String(full.dropFirst(base.count + 1)) : full
            }
            return UnlabelledInputs(inputs: try ImageFolder.images(files, color: color), sampleNames: names)
        }
        let ext = url.pathExtension.lowercased()
        if target != nil && ext != "csv" {
            throw NablaError(.invalidArgument, "--target \(target!): only a .csv input has columns to leave out")
        }
        let inputs: Tensor<Float>
        switch ext {
        case "safetensors":
            let file = try SafeTensorsFile.read(from: url)
            guard let x = file.tensors["x"] else {
                throw NablaError(.missingKey, "\(path): no tensor named 'x' (has \(file.tensors.keys.sorted().joined(separator: ", ")))")
            }
            inputs = try tensor(shape: x.shape, values: x.tensor(as: Float.self).scalars, source: "\(path): tensor 'x'")
        case "npz":
            let archive = try ZipArchive.read(from: url)
            guard let entry = archive.entry(named: "x.npy") else {
                throw NablaError(.missingKey, "\(path): no array 'x' (np.savez(FILE, x=X))")
            }
            let array = try NumPyArray.parse(try archive.contents(of: entry), name: "\(path): x.npy")
            inputs = try tensor(shape: array.shape, values: array.floats(), source: "\(path): x.npy")
        case "npy":
            let array = try NumPyArray.read(from: url)
            inputs = try tensor(shape: array.shape, values: array.floats(), source: path)
        case "csv":
            // Text is allowed in the column left out (a training file's text labels) only.
            let table = try CSVTable.read(from: url, allowingText: target != nil)
            var columns = Array(0..<table.columnCount)
            if let target {
                let column = try TabularDataset.targetColumn(target, columnCount: table.columnCount, columnNames: table.columnNames, file: path)
                columns.remove(at: column)
                if let text = table.textColumns.keys.filter({ $0 != column }).min(by: { table.firstTextRows[$0]! < table.firstTextRows[$1]! }) {
                    throw table.notANumberError(column: text, name: path)
                }
            }
            var values: [Float] = []
            values.reserveCapacity(table.rowCount * columns.count)
            for row in 0..<table.rowCount { for c in columns { values.append(Float(table.values[row * table.columnCount + c])) } }
            inputs = try tensor(shape: [table.rowCount, columns.count], values: values, source: path)
        default:
            throw NablaError(.invalidArgument, "--input \(path): expected a folder of PNG images, or a .safetensors, .npz, .npy or .csv file")
        }
        return UnlabelledInputs(inputs: inputs, sampleNames: (0..<inputs.shape[0]).map(String.init))
    }

    /// A finite tensor of samples on the leading axis.
    static func tensor(shape: [Int], values: [Float], source: String) throws -> Tensor<Float> {
        guard let n = shape.first, n > 0, !shape.dropFirst().contains(0) else {
            throw NablaError(.shapeMismatch, "\(source): shape \(shape) holds no samples (expected samples on the leading axis)")
        }
        if let bad = values.firstIndex(where: { !$0.isFinite }) {
            throw NablaError(.nonFinite, "\(source): element \(bad) is \(values[bad])")
        }
        return Tensor(shape: shape.count == 1 ? [n, 1] : shape, scalars: values)
    }
}
