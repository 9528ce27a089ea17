import Foundation
import XCTest
@testable import NablaTensor
@testable import NablaIO
@testable import NablaData
import NablaTestSupport

/// CSV files whose target column holds text labels (`setosa`, `versicolor`): classes in sorted
/// order, kept as the dataset's class names, with or without a header.
final class CSVTextLabelTests: XCTestCase {
    private func load(_ text: String, _ query: String = "", target: String? = nil) throws -> Dataset {
        let url = try DataTestSupport.temporaryDirectory(self).appendingPathComponent("data.csv")
        try DataTestSupport.write(Array(text.utf8), to: url)
        return try DatasetSource.parse(url.path + query, target: target).load().train
    }

    func testTextLabelsBecomeSortedClassesWithNames() throws {
        let iris = "sepal,petal,species\n5.1,1.4,setosa\n7.0,4.7,versicolor\n6.3,6.0,virginica\n4.9,1.4,setosa\n"
        let headerless = "5.1,1.4,setosa\n7.0,4.7,versicolor\n6.3,6.0,virginica\n4.9,1.4,setosa\n"
        for text in [iris, headerless, iris.replacingOccurrences(of: "\n", with: "\r\n")] {
            let data = try load(text)
            XCTAssertEqual(data.inputs.shape, [4, 2])
            XCTAssertEqual(data.inputs.scalars, [5.1, 1.4, 7.0, 4.7, 6.3, 6.0, 4.9, 1.4])
            XCTAssertEqual(data.targets, .classes([0, 1, 2, 0], classCount: 3))
            XCTAssertEqual(data.classNames, ["setosa", "versicolor", "virginica"])
        }
        // The label column by name or index, anywhere in the table; quoted labels keep their commas.
        let first = try load("kind,x\n\"b, the second\",1\na,2\n", target: "kind")
        XCTAssertEqual(first.classNames, ["a", "b, the second"])
        XCTAssertEqual(first.targets, .classes([1, 0], classCount: 2))
        XCTAssertEqual(first.inputs.scalars, [1, 2])
        XCTAssertEqual(try load("x,kind\n1,yes\n2,no\n", "?target=1&task=classification").classNames, ["no", "yes"])
    }

    /// Labels that are partly numbers are all names ("10" sorts before "2", byte order); a column of
    /// only integers stays numeric labels without names.
    func testMixedAndNumericLabels() throws {
        let mixed = try load("x,y\n1,10\n2,2\n3,other\n")
        XCTAssertEqual(mixed.classNames, ["10", "2", "other"])
        XCTAssertEqual(mixed.targets, .classes([0, 1, 2], classCount: 3))
        let numeric = try load("x,y\n1,3\n2,0\n")
        XCTAssertNil(numeric.classNames)
        XCTAssertEqual(numeric.targets, .classes([3, 0], classCount: 4))
    }

    /// The header is found as Python's csv.Sniffer finds it: a column whose first field is text but
    /// whose other fields are numbers, or a first line of text only.
    func testHeaderDetectionWithTextColumns() throws {
        let table = try CSVTable.parse(Array("a,label\n1,x\n2,y\n".utf8), name: "t", allowingText: true)
        XCTAssertEqual(table.columnNames, ["a", "label"])
        XCTAssertEqual(table.textColumns, [1: ["x", "y"]])
        let data = try CSVTable.parse(Array("1,x\n2,y\n".utf8), name: "t", allowingText: true)
        XCTAssertNil(data.columnNames)
        XCTAssertEqual(data.rowCount, 2)
        let names = try CSVTable.parse(Array("a,b\nc,d\n".utf8), name: "t", header: .absent, allowingText: true)
        XCTAssertEqual(names.textColumns, [0: ["a", "c"], 1: ["b", "d"]])
        XCTAssertEqual(try CSVTable.parse(Array("a,b\nc,d\n".utf8), name: "t", allowingText: true).columnNames, ["a", "b"])
    }

    /// Text is allowed in the label column only; empty and non-finite values are errors everywhere.
    func testTextOutsideTheLabelColumnAndBadLabelsAreErrors() throws {
        assertNablaError(try load("a,b,c\n1,x,p\n2,3,q\n"), "data.csv:2: column 2 (\"b\"): 'x' is not a finite number")
        assertNablaError(try load("a,b\n1,x\n2,y\n", "?task=regression"), "data.csv:2: column 2 (\"b\"): 'x' is not a finite number")
        assertNablaError(try load("a,b\n1,x\n2,\n"), "data.csv:3: column 2: '' is not a finite number")
        assertNablaError(try load("a,b\n1,x\n2,nan\n"), "data.csv:3: column 2: 'nan' is not a finite number")
        assertNablaError(try load("1,x\n,y\n"), "data.csv:2: column 1: '' is not a finite number")
        assertNablaError(try load("a,b\n1,x\n2,y,z\n"), "data.csv:3: 3 fields, expected 2")
        assertNablaError(try load("label\n"), "the file has a header but no data rows")
    }
}
