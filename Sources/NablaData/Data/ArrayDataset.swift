import NablaTensor

/// Turning named arrays (from `.npz` and `.safetensors` files) into datasets.
///
/// Conventions, shared by both formats:
/// - `x` (inputs) and `y` (targets) form the training split; `x_test`/`y_test`, when both present,
///   the test split. Keras' names `x_train`/`y_train` are accepted for the training split.
/// - Inputs keep their stored values converted to `Float` (integer images are *not* rescaled; use
///   per-channel normalization); a rank-1 `x` of `N` scalars becomes `[N, 1]`. Every input must be
///   finite.
/// - Integer `y` (`[N]` or `[N, 1]`) are class labels: non-negative, with `classCount` one more than
///   the largest label of either split (at most ``maximumClassCount``). Floating `y` are regression
///   targets; a rank-1 `y` becomes `[N, 1]`, matching a model's `[N, 1]` output.
enum ArrayDataset {
    /// One array read from a file: its shape and its elements as floats or integers.
    enum StoredArray {
        case floats(shape: [Int], values: [Float])
        case integers(shape: [Int], values: [Int])

        var shape: [Int] {
            switch self { case .floats(let s, _), .integers(let s, _): return s }
        }
    }

    /// The largest class count a label array may imply (a label of 10⁹ is a corrupt file, not a task).
    static let maximumClassCount = 1 << 16

    /// The training and optional test datasets from arrays looked up by name; `file` names the
    /// source in errors and `name` prefixes the datasets' names.
    static func make(file: String, name: String, lookup: (String) throws -> StoredArray?) throws -> (train: Dataset, test: Dataset?) {
        let trainNames = try lookup("x") != nil ? ("x", "y") : ("x_train", "y_train")
        guard let x = try lookup(trainNames.0) else {
            throw NablaError(.missingKey, "\(file): has no array 'x' (expected x and y, optionally x_test and y_test)")
        }
        guard let y = try lookup(trainNames.1) else {
            throw NablaError(.missingKey, "\(file): has '\(trainNames.0)' but no '\(trainNames.1)' (the targets)")
        }
        let testX = try lookup("x_test"), testY = try lookup("y_test")
        guard (testX == nil) == (testY == nil) else {
            throw NablaError(.missingKey, "\(file): has only one of x_test and y_test")
        }
        let trainInputs = try inputs(x, key: trainNames.0, file: file)
        var test: (Tensor<Float>, StoredArray)?
        if let testX, let testY {
            let testInputs = try inputs(testX, key: "x_test", file: file)
            guard testInputs.shape.dropFirst() == trainInputs.shape.dropFirst() else {
                throw NablaError(.shapeMismatch, "\(file): x_test samples are \(Array(testInputs.shape.dropFirst())), "
                                 + "x samples \(Array(trainInputs.shape.dropFirst()))")
            }
            test = (testInputs, testY)
        }
        let targets = try self.targets(train: (y, trainNames.1, trainInputs.shape[0]),
                                       test: test.map { ($0.1, "y_test", $0.0.shape[0]) }, file: file)
        let train = Dataset(name: "\(name)/train", inputs: trainInputs, targets: targets.train)
        return (train, test.map { Dataset(name: "\(name)/test", inputs: $0.0, targets: targets.test!) })
    }

    /// `array` as a finite `Float` tensor with samples on the leading axis.
    static func inputs(_ array: StoredArray, key: String, file: String) throws -> Tensor<Float> {
        var shape = array.shape
        guard !shape.isEmpty else { throw NablaError(.shapeMismatch, "\(file): '\(key)' is a scalar, expected samples on a leading axis") }
        if shape.count == 1 { shape.append(1) }
        switch array {
        case .floats(_, let values):
            if let bad = values.firstIndex(where: { !$0.isFinite }) {
                throw NablaError(.nonFinite, "\(file): '\(key)' element \(bad) is \(values[bad])")
            }
            return Tensor(shape: shape, scalars: values)
        case .integers(_, let values):
            return Tensor(shape: shape, scalars: values.map { Float($0) })
        }
    }

    /// The targets of both splits; labels share one class count.
    static func targets(train: (StoredArray, String, Int), test: (StoredArray, String, Int)?, file: String) throws -> (train: Targets, test: Targets?) {
        let splits = [train] + (test.map { [$0] } ?? [])
        let isClasses = { (a: StoredArray) -> Bool in if case .integers = a { return true } else { return false } }
        if let test, isClasses(train.0) != isClasses(test.0) {
            throw NablaError(.invalidFile, "\(file): '\(train.1)' and '\(test.1)' must both be integer labels or both be floating targets")
        }
        for (array, key, count) in splits where array.shape.first != count {
            throw NablaError(.shapeMismatch, "\(file): '\(key)' has \(array.shape.first.map(String.init) ?? "no") samples, "
                             + "its inputs have \(count)")
        }
        if isClasses(train.0) {
            var labels: [[Int]] = []
            for (array, key, count) in splits {
                guard case .integers(let shape, let values) = array else { continue }
                guard shape == [count] || shape == [count, 1] else {
                    throw NablaError(.shapeMismatch, "\(file): integer labels '\(key)' have shape \(shape), expected [\(count)]")
                }
                labels.append(try checkedLabels(values, what: "\(file): '\(key)'"))
            }
            let classCount = labels.flatMap { $0 }.max().map { $0 + 1 } ?? 1
            return (.classes(labels[0], classCount: classCount), labels.count > 1 ? .classes(labels[1], classCount: classCount) : nil)
        }
        var values: [Tensor<Float>] = []
        for (array, key, _) in splits {
            guard case .floats(var shape, let v) = array else { continue }
            if let bad = v.firstIndex(where: { !$0.isFinite }) {
                throw NablaError(.nonFinite, "\(file): '\(key)' element \(bad) is \(v[bad])")
            }
            if shape.count == 1 { shape.append(1) }
            values.append(Tensor(shape: shape, scalars: v))
        }
        return (.values(values[0]), values.count > 1 ? .values(values[1]) : nil)
    }

    /// `values` unchanged after checking each is a label in `0..<maximumClassCount`.
    static func checkedLabels(_ values: [Int], what: String) throws -> [Int] {
        for (index, label) in values.enumerated() where label < 0 || label >= maximumClassCount {
            throw NablaError(.invalidFile, "\(what): label \(label) at index \(index) is out of range 0..<\(maximumClassCount)")
        }
        return values
    }
}
