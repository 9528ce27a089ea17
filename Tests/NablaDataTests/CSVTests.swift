import Foundation
import XCTest
@testable import NablaTensor
@testable import NablaIO
@testable import NablaData
import NablaTestSupport

/// CSV tables and tabular datasets (also the `.npy` table form).
final class CSVTests: XCTestCase {
    private func load(_ text: String, _ query: String = "", target: String? = nil) throws -> Dataset {
        let url = try DataTestSupport.temporaryDirectory(self).appendingPathComponent("data.csv")
        try DataTestSupport.write(Array(text.utf8), to: url)
        return try DatasetSource.parse(url.path + query, target: target).load().train
    }

    func testHeaderDetectionAndClassLabels() throws {
        let withHeader = try load("a,b,label\n1,2,0\n3,4.5,1\n\n-5e-1, 6 ,2\n")
        XCTAssertEqual(withHeader.name, "data")
        XCTAssertEqual(withHeader.inputs.shape, [3, 2])
        XCTAssertEqual(withHeader.inputs.scalars, [1, 2, 3, 4.5, -0.5, 6])
        XCTAssertEqual(withHeader.targets, .classes([0, 1, 2], classCount: 3))
        let noHeader = try load("1,2,0\r\n3,4.5,1\r\n-0.5,6,2")
        XCTAssertEqual(noHeader.inputs, withHeader.inputs)
        XCTAssertEqual(noHeader.targets, withHeader.targets)
    }

    func testRegressionWhenTargetsAreNotLabels() throws {
        let data = try load("x,y\n0,0.5\n1,-2\n2,3\n")
        XCTAssertEqual(data.targets, .values(Tensor(shape: [3, 1], scalars: [0.5, -2, 3])))
        let forced = try load("x,y\n0,1\n1,2\n", "?task=regression")
        XCTAssertEqual(forced.targets, .values(Tensor(shape: [2, 1], scalars: [1, 2])))
    }

    func testTargetByNameIndexAndNegativeIndex() throws {
        let text = "price,rooms,area\n100.5,3,70\n80,2,55\n"
        let byName = try load(text, target: "price")
        XCTAssertEqual(byName.inputs.scalars, [3, 70, 2, 55])
        XCTAssertEqual(byName.targets, .values(Tensor(shape: [2, 1], scalars: [100.5, 80])))
        XCTAssertEqual(try load(text, "?target=rooms").targets, .classes([3, 2], classCount: 4))
        XCTAssertEqual(try load(text, "?target=0").inputs, byName.inputs)
        XCTAssertEqual(try load(text, "?target=-2").inputs.scalars, [100.5, 70, 80, 55])
    }

    func testQuotedFieldsAndBOM() throws {
        let data = try load("\u{FEFF}\"a,1\",\"b \"\"q\"\"\",y\n\"1\", 2 ,\"0\"\n")
        XCTAssertEqual(data.inputs.scalars, [1, 2])
        let table = try CSVTable.parse(Array("\u{FEFF}\"a,1\",\"b \"\"q\"\"\",y\n1,2,0\n".utf8), name: "t")
        XCTAssertEqual(table.columnNames, ["a,1", "b \"q\"", "y"])
    }

    func testErrorsNameTheLineAndColumn() throws {
        assertNablaError(try load("a,b,c\n1,2,0\n3,oops,1\n"), "data.csv:3: column 2 (\"b\"): 'oops' is not a finite number")
        assertNablaError(try load("a,b\n1,2\n3,oops\n", "?task=regression"), "data.csv:3: column 2 (\"b\"): 'oops' is not a finite number")
        assertNablaError(try load("1,2\n3,nan\n"), "data.csv:2: column 2: 'nan' is not a finite number")
        assertNablaError(try load("1,2\n3,1e999\n"), "'1e999' is not a finite number")
        assertNablaError(try load("1,2\n3,\n"), "data.csv:2: column 2: '' is not a finite number")
        assertNablaError(try load("a,b\n1,2\n3,4,5\n"), "data.csv:3: 3 fields, expected 2")
        assertNablaError(try load("1,\"2\n"), "data.csv:1: unterminated quoted field")
        assertNablaError(try load("\"1\"x,2\n"), "text after a closing quote")
        assertNablaError(try load(""), "data.csv: the file has no rows")
        assertNablaError(try load("\n \n"), "the file has no rows")
        assertNablaError(try load("a,b\n"), "has a header but no data rows")
        assertNablaError(try load("a\n1\n"), "has 1 column; a dataset needs at least one feature and a target")
        assertNablaError(try load("1,2\n", "?header=yes"), "has a header but no data rows")
        assertNablaError(try load("a,b\n1,2\n", "?header=no"), "data.csv:1: column 1: 'a' is not a finite number")
    }

    func testTargetAndTaskErrors() throws {
        assertNablaError(try load("a,b\n1,2\n", target: "c"), "no target column 'c': columns are a, b")
        assertNablaError(try load("1,2\n", target: "c"), "the file has no header; give a 0-based index")
        assertNablaError(try load("1,2\n", target: "5"), "target column index 5 is out of range for 2 columns")
        assertNablaError(try load("1,2.5\n", "?task=classification"), "data.csv: line 1: target column 1 value 2.5 is not a class label")
        assertNablaError(try load("1,-1\n", "?task=classification"), "value -1.0 is not a class label")
        XCTAssertEqual(try load("1,70000\n").targets, .values(Tensor(shape: [1, 1], scalars: [70000])))
    }

    func testNpyTable() throws {
        let url = DataTestSupport.fixture("table.npy")
        let data = try DatasetSource.parse(url.path).load().train
        XCTAssertEqual(data.inputs.shape, [6, 2])
        XCTAssertEqual(data.inputs.scalars, [0, 0, 1, 2, 2, 4, 3, 6, 4, 8, 5, 10])
        XCTAssertEqual(data.targets, .classes([0, 1, 2, 0, 1, 2], classCount: 3))
        let byColumn = try DatasetSource.parse(url.path, target: "0").load().train
        XCTAssertEqual(byColumn.targets, .classes([0, 1, 2, 3, 4, 5], classCount: 6))
        assertNablaError(try DatasetSource.parse(DataTestSupport.fixture("f4.npy").path + "?task=classification").load(),
                         "f4.npy: row 1: target column 2 value 1.5", "is not a class label")
        assertNablaError(try DatasetSource.parse(DataTestSupport.fixture("u1.npy").path).load(),
                         "a .npy dataset is a 2-D table", "np.savez")
    }
}
