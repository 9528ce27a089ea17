import Foundation
import NablaTensor

/// A numeric table read from a CSV file (RFC 4180 subset): comma-separated fields, one record per
/// line (`\n` or `\r\n`), fields optionally enclosed in double quotes (`""` inside quotes is a quote;
/// a quoted field cannot span lines), blank lines ignored, an optional UTF-8 byte-order mark.
///
/// The first record is a header of column names when ``HeaderMode/present``, or with
/// ``HeaderMode/automatic`` when any of its fields is not a number. Every other field must be a
/// finite decimal number (`strtod` syntax, surrounding spaces ignored); errors name the line and
/// column: `data.csv:12: column 3 ("price"): 'abc' is not a number`.
public struct CSVTable: Sendable, Equatable {
    /// Whether the first record names the columns.
    public enum HeaderMode: String, Sendable {
        /// Detect: the first record is a header when any of its fields is not a number (`auto`).
        case automatic = "auto"
        /// The first record is always a header (`yes`).
        case present = "yes"
        /// Every record is data (`no`); the table has no column names.
        case absent = "no"
    }

    /// The column names, or `nil` when the file has no header.
    public let columnNames: [String]?
    /// The number of columns; every row has exactly this many fields.
    public let columnCount: Int
    /// The values, row-major, `rowCount × columnCount`.
    public let values: [Double]
    /// The 1-based line number of each row, for messages.
    public let lineNumbers: [Int]

    /// The number of data rows (the header, if any, not counted).
    public var rowCount: Int { lineNumbers.count }

    /// Reads the CSV file at `url`.
    public static func read(from url: URL, header: HeaderMode = .automatic) throws -> CSVTable {
        try parse(try FileBytes.read(url), name: url.path, header: header)
    }

    /// Parses CSV bytes; `name` prefixes error messages.
    public static func parse(_ data: [UInt8], name: String, header: HeaderMode = .automatic) throws -> CSVTable {
        var start = data.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
        var lineNumber = 0
        var columnNames: [String]?
        var columnCount = -1
        var values: [Double] = []
        var lineNumbers: [Int] = []
        var numberBuffer: [CChar] = []
        while start < data.count {
            let newline = data[start...].firstIndex(of: 0x0A) ?? data.count
            var end = newline
            if end > start && data[end - 1] == 0x0D { end -= 1 }
            lineNumber += 1
            let line = data[start..<end]
            start = newline + 1
            guard line.contains(where: { $0 != 0x20 && $0 != 0x09 }) else { continue }
            let fields = try splitFields(line, location: "\(name):\(lineNumber)")
            if columnCount < 0 {
                columnCount = fields.count
                let numeric = fields.allSatisfy { parseNumber($0, buffer: &numberBuffer) != nil }
                if header == .present || (header == .automatic && !numeric) {
                    columnNames = fields.map { String(decoding: $0, as: UTF8.self).trimmingCharacters(in: .whitespaces) }
                    continue
                }
            }
            guard fields.count == columnCount else {
                throw NablaError(.invalidFile, "\(name):\(lineNumber): \(fields.count) fields, expected \(columnCount) like the first line")
            }
            for (column, field) in fields.enumerated() {
                guard let value = parseNumber(field, buffer: &numberBuffer) else {
                    let text = String(decoding: field.prefix(40), as: UTF8.self).trimmingCharacters(in: .whitespaces)
                    let label = columnNames.map { " (\"\($0[column])\")" } ?? ""
                    throw NablaError(.invalidFile, "\(name):\(lineNumber): column \(column + 1)\(label): '\(text)' is not a finite number")
                }
                values.append(value)
            }
            lineNumbers.append(lineNumber)
        }
        guard columnCount > 0 else { throw NablaError(.invalidFile, "\(name): the file has no rows") }
        guard !lineNumbers.isEmpty else { throw NablaError(.invalidFile, "\(name): the file has a header but no data rows") }
        return CSVTable(columnNames: columnNames, columnCount: columnCount, values: values, lineNumbers: lineNumbers)
    }

    /// The fields of one line, quotes removed.
    private static func splitFields(_ line: ArraySlice<UInt8>, location: String) throws -> [ArraySlice<UInt8>] {
        guard line.contains(0x22) else { return line.split(separator: 0x2C, omittingEmptySubsequences: false) }
        var fields: [ArraySlice<UInt8>] = []
        var i = line.startIndex
        while true {
            while i < line.endIndex && line[i] == 0x20 { i += 1 }
            if i < line.endIndex && line[i] == 0x22 {
                var text: [UInt8] = []
                i += 1
                while true {
                    guard i < line.endIndex else { throw NablaError(.invalidFile, "\(location): unterminated quoted field") }
                    if line[i] == 0x22 {
                        if i + 1 < line.endIndex && line[i + 1] == 0x22 { text.append(0x22); i += 2; continue }
                        i += 1
                        break
                    }
                    text.append(line[i])
                    i += 1
                }
                while i < line.endIndex && line[i] == 0x20 { i += 1 }
                guard i == line.endIndex || line[i] == 0x2C else {
                    throw NablaError(.invalidFile, "\(location): text after a closing quote")
                }
                fields.append(text[...])
            } else {
                let comma = line[i...].firstIndex(of: 0x2C) ?? line.endIndex
                fields.append(line[i..<comma])
                i = comma
            }
            if i == line.endIndex { return fields }
            i += 1  // the comma
        }
    }

    /// The finite number spelled by `field` (surrounding spaces and tabs ignored), or `nil`.
    static func parseNumber(_ field: ArraySlice<UInt8>, buffer: inout [CChar]) -> Double? {
        var lower = field.startIndex, upper = field.endIndex
        while lower < upper && (field[lower] == 0x20 || field[lower] == 0x09) { lower += 1 }
        while upper > lower && (field[upper - 1] == 0x20 || field[upper - 1] == 0x09) { upper -= 1 }
        guard lower < upper else { return nil }
        buffer.removeAll(keepingCapacity: true)
        for byte in field[lower..<upper] { buffer.append(CChar(bitPattern: byte)) }
        buffer.append(0)
        let length = upper - lower
        return buffer.withUnsafeMutableBufferPointer { p -> Double? in
            var end: UnsafeMutablePointer<CChar>?
            let value = strtod(p.baseAddress!, &end)
            guard end == p.baseAddress! + length, value.isFinite else { return nil }
            return value
        }
    }
}
