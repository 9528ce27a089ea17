import Foundation
import NablaTensor
import NablaIO

/// How a table (a `.csv` file, or a 2-D `.npy` array) becomes a dataset: which column is the
/// target, whether the first CSV line is a header, and whether the target is a class label.
public struct TabularOptions: Equatable, Sendable {
    /// How the target column is interpreted.
    public enum Task: String, Sendable {
        /// Classes when every target is a non-negative integer below 65536, regression otherwise.
        case automatic = "auto"
        /// Class labels: every target must be an integer in `0..<65536`, else loading throws.
        case classification
        /// Real-valued targets `[N, 1]`, whatever their values.
        case regression
    }

    /// The target column: a header name, or a 0-based index (negative counts from the end, `-1` is
    /// the last column). `nil` means the last column.
    public var target: String?
    /// Whether the first CSV line names the columns (ignored for `.npy` tables).
    public var header: CSVTable.HeaderMode
    /// How the target column is interpreted.
    public var task: Task

    /// Options with the last column as the target, the header detected, the task inferred.
    public init(target: String? = nil, header: CSVTable.HeaderMode = .automatic, task: Task = .automatic) {
        self.target = target
        self.header = header
        self.task = task
    }
}

/// Builds datasets from numeric tables: every column but the target is an input feature
/// (inputs `[N, D]`), the target column becomes class labels or regression values `[N, 1]`
/// (see ``TabularOptions/Task``).
enum TabularDataset {
    /// Loads a CSV file. Its target column may hold text labels (`setosa`, `versicolor`): the classes
    /// are the distinct labels in sorted order (scikit-learn's `LabelEncoder`, torchvision's
    /// `ImageFolder`), kept as the dataset's ``Dataset/classNames``. Every other column must be numeric.
    static func loadCSV(_ url: URL, options: TabularOptions, name: String) throws -> Dataset {
        let table = try CSVTable.read(from: url, header: options.header, allowingText: true)
        let target = try targetColumn(options.target, columnCount: table.columnCount, columnNames: table.columnNames, file: url.path)
        if let column = table.textColumns.keys.filter({ $0 != target }).min(by: { table.firstTextRows[$0]! < table.firstTextRows[$1]! }) {
            throw table.notANumberError(column: column, name: url.path)
        }
        guard let labels = table.textColumns[target] else {
            return try make(values: table.values, columnCount: table.columnCount, columnNames: table.columnNames,
                            options: options, file: url.path, name: name, row: { "line \(table.lineNumbers[$0])" })
        }
        if options.task == .regression { throw table.notANumberError(column: target, name: url.path) }
        let classNames = Array(Set(labels)).sorted()
        guard classNames.count <= ArrayDataset.maximumClassCount else {
            throw NablaError(.invalidFile, "\(url.path): the target column has \(classNames.count) distinct labels, more than \(ArrayDataset.maximumClassCount) classes")
        }
        let index = Dictionary(uniqueKeysWithValues: classNames.enumerated().map { ($1, $0) })
        var values = table.values
        for (row, label) in labels.enumerated() { values[row * table.columnCount + target] = Double(index[label]!) }
        var options = options
        options.task = .classification
        var dataset = try make(values: values, columnCount: table.columnCount, columnNames: table.columnNames,
                               options: options, file: url.path, name: name, row: { "line \(table.lineNumbers[$0])" })
        // Every label is present, so the class count is the number of names.
        dataset.targets = .classes(labels.map { index[$0]! }, classCount: classNames.count)
        dataset.classNames = classNames
        return dataset
    }

    /// Loads a 2-D `.npy` array `[N, D + 1]` as a table (no header).
    static func loadNPY(_ url: URL, options: TabularOptions, name: String) throws -> Dataset {
        let array = try NumPyArray.read(from: url)
        guard array.shape.count == 2, array.shape[0] > 0, array.shape[1] >= 2 else {
            throw NablaError(.shapeMismatch, "\(url.path): a .npy dataset is a 2-D table [samples, features + target], "
                             + "got shape \(array.shape) (for separate inputs and targets use np.savez(FILE.npz, x=X, y=Y))")
        }
        let values = array.integers()?.map(Double.init) ?? array.floats().map(Double.init)
        if let bad = values.firstIndex(where: { !$0.isFinite }) {
            throw NablaError(.nonFinite, "\(url.path): element \(bad) is \(values[bad])")
        }
        return try make(values: values, columnCount: array.shape[1], columnNames: nil, options: options,
                        file: url.path, name: name, row: { "row \($0)" })
    }

    /// The dataset of a row-major table; `row(i)` describes row `i` in messages.
    static func make(values: [Double], columnCount: Int, columnNames: [String]?, options: TabularOptions,
                     file: String, name: String, row: (Int) -> String) throws -> Dataset {
        let rowCount = values.count / columnCount
        guard columnCount >= 2 else {
            throw NablaError(.shapeMismatch, "\(file): has \(columnCount) column; a dataset needs at least one feature and a target")
        }
        let target = try targetColumn(options.target, columnCount: columnCount, columnNames: columnNames, file: file)
        let featureCount = columnCount - 1
        var features = [Float](repeating: 0, count: rowCount * featureCount)
        var targetValues = [Double](repeating: 0, count: rowCount)
        for r in 0..<rowCount {
            var f = r * featureCount
            for c in 0..<columnCount {
                let v = values[r * columnCount + c]
                if c == target { targetValues[r] = v } else { features[f] = Float(v); f += 1 }
            }
        }
        let inputs = Tensor(shape: [rowCount, featureCount], scalars: features)
        let isLabel = { (v: Double) in v >= 0 && v < Double(ArrayDataset.maximumClassCount) && v == v.rounded() }
        let columnName = columnNames.map { "column \"\($0[target])\"" } ?? "column \(target)"
        switch options.task {
        case .regression:
            break
        case .classification:
            if let bad = targetValues.firstIndex(where: { !isLabel($0) }) {
                throw NablaError(.invalidFile, "\(file): \(row(bad)): target \(columnName) value \(targetValues[bad]) is not a class label "
                                 + "(an integer in 0..<\(ArrayDataset.maximumClassCount))")
            }
        case .automatic:
            guard targetValues.allSatisfy(isLabel) else { break }
        }
        if options.task != .regression && targetValues.allSatisfy(isLabel) {
            let labels = targetValues.map { Int($0) }
            return Dataset(name: name, inputs: inputs, targets: .classes(labels, classCount: (labels.max() ?? 0) + 1))
        }
        return Dataset(name: name, inputs: inputs, targets: .values(Tensor(shape: [rowCount, 1], scalars: targetValues.map { Float($0) })))
    }

    /// The index of the target column.
    static func targetColumn(_ spec: String?, columnCount: Int, columnNames: [String]?, file: String) throws -> Int {
        guard let spec else { return columnCount - 1 }
        if let names = columnNames, let index = names.firstIndex(of: spec) { return index }
        if let index = Int(spec) {
            let resolved = index < 0 ? columnCount + index : index
            guard (0..<columnCount).contains(resolved) else {
                throw NablaError(.invalidArgument, "\(file): target column index \(index) is out of range for \(columnCount) columns")
            }
            return resolved
        }
        let known = columnNames.map { ": columns are \($0.joined(separator: ", "))" } ?? " (the file has no header; give a 0-based index)"
        throw NablaError(.invalidArgument, "\(file): no target column '\(spec)'\(known)")
    }
}
