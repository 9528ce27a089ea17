import Foundation
import NablaTensor

/// Writes metrics as CSV (RFC 4180): a header line, then one line per row.
///
/// Columns are either fixed at creation (a row with another key throws; a missing key leaves its
/// cell empty) or, by default, the union of all keys in first-seen order. In the union mode a row
/// that brings a new key appends a column: the file is then rewritten atomically with the wider
/// header and the earlier rows padded with empty cells, so the file always has exactly one header.
/// Fields containing a comma, quote or line break are quoted, with quotes doubled.
public final class CSVMetricsLogger: MetricsLogger {
    /// The file being written.
    public var url: URL { file.url }
    /// The current header.
    public private(set) var columns: [String]
    private let columnsAreFixed: Bool
    private var columnIndex: [String: Int] = [:]
    /// Every row written so far (encoded cells), kept to rewrite the file when a column is added.
    private var rows: [[String]] = []
    private let file: MetricsFile

    /// Opens `url` for writing.
    /// - Parameters:
    ///   - url: the CSV file, created with its parent directory if needed.
    ///   - columns: the fixed header; `nil` for the union of keys in first-seen order.
    ///   - append: keep the rows already in the file (e.g. when resuming a run) and continue after
    ///     them; its header is kept and, with fixed `columns`, must equal them.
    /// - Throws: ``/NablaTensor/NablaError`` — `.io` when the file cannot be created, `.invalidFile` when `append`
    ///   finds a file that is not CSV with a header or whose header differs from `columns`.
    public init(url: URL, columns: [String]? = nil, append: Bool = false) throws {
        self.columns = columns ?? []
        self.columnsAreFixed = columns != nil
        if append, let data = FileManager.default.contents(atPath: url.path), !data.isEmpty {
            guard let text = String(data: data, encoding: .utf8) else {
                throw NablaError(.invalidFile, "\(url.path): existing metrics file is not UTF-8 text")
            }
            let records = try Self.parse(text, source: url.path)
            if let header = records.first {
                if let columns, columns != header {
                    throw NablaError(.invalidFile, "\(url.path): existing header \(header) differs from the requested columns \(columns)")
                }
                self.columns = header
                rows = records.dropFirst().map { $0.map(Self.escape) }
            }
        }
        file = try MetricsFile(url: url, append: append)
        for (i, name) in self.columns.enumerated() { columnIndex[name] = i }
        if rows.isEmpty && !self.columns.isEmpty {
            try file.replace(with: Self.line(self.columns.map(Self.escape)))
        }
    }

    /// Appends one row; a key not seen before adds a column (rewriting the file with the new header
    /// and the earlier rows padded with empty cells) unless the columns were fixed at creation.
    /// - Throws: ``/NablaTensor/NablaError`` (`.invalidArgument`) for a new key when the columns are
    ///   fixed, (`.io`) when the file cannot be written.
    public func log(_ row: [(key: String, value: MetricValue)]) throws {
        var added = false
        for (key, _) in row where columnIndex[key] == nil {
            guard !columnsAreFixed else {
                throw NablaError(.invalidArgument, "\(url.path): metric '\(key)' is not one of the CSV columns \(columns)")
            }
            columnIndex[key] = columns.count
            columns.append(key)
            added = true
        }
        var cells = [String](repeating: "", count: columns.count)
        for (key, value) in row { cells[columnIndex[key]!] = Self.escape(value.description) }
        if added {
            var text = Self.line(columns.map(Self.escape))
            for old in rows { text += Self.line(old + Array(repeating: "", count: columns.count - old.count)) }
            text += Self.line(cells)
            try file.replace(with: text)
        } else {
            try file.append(Self.line(cells))
        }
        rows.append(cells)
    }

    /// Closes the file; further rows are a programming error.
    public func close() throws { try file.close() }

    private static func line(_ cells: [String]) -> String { cells.joined(separator: ",") + "\n" }

    /// A field as RFC 4180 writes it: quoted when it holds `,`, `"`, CR or LF, quotes doubled.
    public static func escape(_ field: String) -> String {
        guard field.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" || $0 == "\r\n" }) else {
            return field
        }
        return "\"" + field.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// Parses RFC 4180 CSV text into records of unescaped fields.
    /// - Throws: ``/NablaTensor/NablaError`` (`.invalidFile`) naming `source` on an unterminated quoted field.
    public static func parse(_ text: String, source: String = "CSV text") throws -> [[String]] {
        var records: [[String]] = [], record: [String] = [], field = ""
        var inQuotes = false, afterQuote = false, fieldStarted = false
        var iterator = text.unicodeScalars.makeIterator()
        while let c = iterator.next() {
            if inQuotes {
                if c == "\"" { inQuotes = false; afterQuote = true } else { field.unicodeScalars.append(c) }
                continue
            }
            switch c {
            case "\"":
                if afterQuote { field += "\"" }  // a doubled quote inside a quoted field
                inQuotes = true
                afterQuote = false
                fieldStarted = true
            case ",":
                record.append(field); field = ""; afterQuote = false; fieldStarted = true
            case "\r":
                continue  // CRLF line ends: the LF ends the record
            case "\n":
                if fieldStarted || !record.isEmpty {
                    record.append(field)
                    records.append(record)
                }
                record = []; field = ""; afterQuote = false; fieldStarted = false
            default:
                field.unicodeScalars.append(c); afterQuote = false; fieldStarted = true
            }
        }
        if inQuotes { throw NablaError(.invalidFile, "\(source): unterminated quoted field at the end") }
        if fieldStarted || !record.isEmpty || !field.isEmpty {
            record.append(field)
            records.append(record)
        }
        return records
    }
}
