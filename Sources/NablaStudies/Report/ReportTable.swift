import Foundation

/// How a number is written in a report table.
public enum NumberFormat: Sendable, Equatable {
    /// `digits` decimals: `.fixed(3)` → `0.125`.
    case fixed(Int)
    /// `digits` significant digits, switching to exponent form for very small or large values:
    /// `.significant(3)` → `0.000123`, `1.23e+06`.
    case significant(Int)
    /// Exponent form with `digits` decimals: `.scientific(2)` → `1.25e-04`.
    case scientific(Int)
    /// A fraction as a percentage with `digits` decimals: `.percent(1)` of 0.9041 → `90.4%`.
    case percent(Int)

    /// `value` written in this format; NaN is `NaN`, infinities `inf` / `-inf`.
    public func string(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value > 0 ? "inf" : "-inf" }
        switch self {
        case .fixed(let digits): return String(format: "%.\(max(0, digits))f", value)
        case .significant(let digits): return String(format: "%.\(max(1, digits))g", value)
        case .scientific(let digits): return String(format: "%.\(max(0, digits))e", value)
        case .percent(let digits): return String(format: "%.\(max(0, digits))f%%", value * 100)
        }
    }
}

/// A table of results: a header row, body rows of cells, an optional caption. Numeric cells are
/// right-aligned with tabular figures so that decimals line up.
public struct ReportTable: Sendable {
    /// One table cell: its text and how to show it.
    public struct Cell: Sendable, Equatable, ExpressibleByStringLiteral {
        /// The text shown (HTML-escaped when rendered).
        public var text: String
        /// Whether the cell is right-aligned with tabular figures.
        public var isNumeric: Bool
        /// Whether the cell is bold.
        public var isEmphasized: Bool

        /// A cell showing `text`.
        public init(text: String, isNumeric: Bool = false, isEmphasized: Bool = false) {
            self.text = text
            self.isNumeric = isNumeric
            self.isEmphasized = isEmphasized
        }

        /// A plain text cell from a string literal.
        public init(stringLiteral value: String) { self.init(text: value) }

        /// A text cell.
        public static func text(_ text: String) -> Cell { Cell(text: text) }
        /// A number in the given format.
        public static func number(_ value: Double, _ format: NumberFormat = .significant(4)) -> Cell {
            Cell(text: format.string(value), isNumeric: true)
        }
        /// An integer.
        public static func integer(_ value: Int) -> Cell { Cell(text: String(value), isNumeric: true) }
        /// A fraction shown as a percentage.
        public static func percent(_ value: Double, digits: Int = 1) -> Cell { number(value, .percent(digits)) }
        /// This cell in bold (e.g. the best result of a column).
        public func emphasized() -> Cell {
            var copy = self
            copy.isEmphasized = true
            return copy
        }
    }

    /// The header row.
    public var columns: [String]
    /// The body rows, each with one cell per column.
    public var rows: [[Cell]]
    /// A caption under the table; `nil` for none.
    public var caption: String?

    /// A table with `columns` as its header.
    ///
    /// - Precondition: every row has one cell per column.
    public init(columns: [String], rows: [[Cell]] = [], caption: String? = nil) {
        for row in rows { precondition(row.count == columns.count, "ReportTable: row of \(row.count) cells for \(columns.count) columns") }
        self.columns = columns
        self.rows = rows
        self.caption = caption
    }

    /// Appends a row.
    /// - Precondition: the row has one cell per column.
    public mutating func append(_ row: [Cell]) {
        precondition(row.count == columns.count, "ReportTable: row of \(row.count) cells for \(columns.count) columns")
        rows.append(row)
    }

    /// The table as HTML.
    public var html: String {
        let e = SVGDocument.escape
        var out = "<table>\n"
        if let caption { out += "<caption>\(e(caption))</caption>\n" }
        let numeric = numericColumns
        out += "<thead><tr>" + columns.indices.map {
            numeric[$0] ? "<th class=\"num\">\(e(columns[$0]))</th>" : "<th>\(e(columns[$0]))</th>"
        }.joined() + "</tr></thead>\n<tbody>\n"
        for row in rows {
            out += "<tr>" + row.map { cell in
                let text = cell.isEmphasized ? "<strong>\(e(cell.text))</strong>" : e(cell.text)
                return cell.isNumeric ? "<td class=\"num\">\(text)</td>" : "<td>\(text)</td>"
            }.joined() + "</tr>\n"
        }
        return out + "</tbody>\n</table>"
    }

    /// Whether each column holds only numbers (its header is then right-aligned too).
    var numericColumns: [Bool] {
        columns.indices.map { i in !rows.isEmpty && rows.allSatisfy { $0[i].isNumeric } }
    }

    /// The table as aligned plain text for a terminal: numbers right-aligned, text left-aligned,
    /// columns separated by two spaces, a rule under the header.
    public var plainText: String {
        var widths = columns.map(\.count)
        for row in rows { for (i, cell) in row.enumerated() { widths[i] = max(widths[i], cell.text.count) } }
        func pad(_ text: String, _ width: Int, right: Bool) -> String {
            let fill = String(repeating: " ", count: max(0, width - text.count))
            return right ? fill + text : text + fill
        }
        let numericColumn = numericColumns
        var lines = [zip(columns, widths).enumerated().map { pad($1.0, $1.1, right: numericColumn[$0]) }.joined(separator: "  ")]
        lines.append(widths.map { String(repeating: "-", count: $0) }.joined(separator: "  "))
        for row in rows {
            lines.append(row.enumerated().map { pad($1.text, widths[$0], right: $1.isNumeric) }.joined(separator: "  "))
        }
        return lines.map { $0.replacingOccurrences(of: "\\s+$", with: "", options: .regularExpression) }.joined(separator: "\n")
    }
}
