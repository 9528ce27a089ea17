import Foundation
import NablaIO

/// A self-contained HTML report: one file with inline CSS and inline SVG charts, no scripts and no
/// network fetches, readable offline and in any browser, printable.
///
/// Blocks are appended in reading order; level-2 headings also get an entry in a table of contents
/// at the top. All text is escaped. The markup is well-formed XML (XHTML syntax), so it can be
/// checked with an XML parser.
///
/// ```swift
/// var report = HTMLReport(title: "Regularization study")
/// report.heading("Results")
/// report.table(results)
/// report.charts([(lossChart, "Test loss per epoch"), (gapChart, "Train–test gap")])
/// report.preformatted("nabla study regularization --seed 0", caption: "Reproduce")
/// try report.write(to: URL(fileURLWithPath: "nabla-out/report.html"))
/// ```
public struct HTMLReport {
    enum Block {
        case heading(level: Int, text: String, id: String)
        case paragraph(String)
        case list([String])
        case table(ReportTable)
        case figures([(svg: String, caption: String?, width: Double?)])
        case preformatted(String, caption: String?)
        case html(String)
        case emphasizedList([(lead: String, text: String)])
        case detailsStart(String)
        case detailsEnd
    }

    /// The page title (`<title>` and the level-1 heading).
    public var title: String
    /// A line under the title (e.g. the date and machine); `nil` for none.
    public var subtitle: String?
    /// Adds a table of contents of the level-2 headings when there are at least three.
    public var includesContents = true
    private(set) var blocks: [Block] = []
    private var usedIDs: Set<String> = []

    /// An empty report titled `title`.
    public init(title: String, subtitle: String? = nil) {
        self.title = title
        self.subtitle = subtitle
    }

    /// A section heading (`level` 2 for sections, 3 for subsections).
    public mutating func heading(_ text: String, level: Int = 2) {
        precondition((2...4).contains(level), "HTMLReport.heading: level \(level) must be 2, 3 or 4 (1 is the title)")
        var base = text.lowercased().unicodeScalars.map { CharacterSet.alphanumerics.contains($0) && $0.isASCII ? String($0) : "-" }
            .joined().split(separator: "-").joined(separator: "-")
        if base.isEmpty { base = "section" }
        var id = base, n = 2
        while usedIDs.contains(id) { id = "\(base)-\(n)"; n += 1 }
        usedIDs.insert(id)
        blocks.append(.heading(level: level, text: text, id: id))
    }

    /// A paragraph of plain text.
    public mutating func paragraph(_ text: String) { blocks.append(.paragraph(text)) }

    /// A bulleted list of plain-text items.
    public mutating func list(_ items: [String]) { blocks.append(.list(items)) }

    /// A results table.
    public mutating func table(_ table: ReportTable) { blocks.append(.table(table)) }

    /// One chart on its own row.
    public mutating func chart(_ chart: any Chart, caption: String? = nil) { charts([(chart, caption)]) }

    /// Charts side by side (they wrap onto further rows on narrow screens).
    public mutating func charts(_ charts: [(any Chart, String?)]) {
        blocks.append(.figures(charts.map { chart, caption in
            let document = chart.makeSVG()
            return (svg: document.render(title: chart.title), caption: caption, width: document.width)
        }))
    }

    /// SVG markup produced elsewhere, as a figure at most `width` CSS pixels wide.
    public mutating func svg(_ markup: String, caption: String? = nil, width: Double? = nil) {
        blocks.append(.figures([(svg: markup, caption: caption, width: width)]))
    }

    /// A preformatted block, shown verbatim in a monospace font (configurations, commands).
    public mutating func preformatted(_ text: String, caption: String? = nil) {
        blocks.append(.preformatted(text, caption: caption))
    }

    /// Raw HTML inserted as is (not escaped); it must not fetch anything from the network.
    public mutating func html(_ markup: String) { blocks.append(.html(markup)) }

    /// A bulleted list whose items start with a bold lead (`**better** — dropout: +1.2 points …`).
    public mutating func emphasizedList(_ items: [(lead: String, text: String)]) { blocks.append(.emphasizedList(items)) }

    /// Everything `content` appends, folded into a `<details>` element that opens on a click on
    /// `summary` (configurations, reproduce commands, secondary results).
    public mutating func details(_ summary: String, _ content: (inout HTMLReport) -> Void) {
        blocks.append(.detailsStart(summary))
        content(&self)
        blocks.append(.detailsEnd)
    }

    static let styleSheet = """
    :root { color-scheme: light; }
    body { font-family: "DejaVu Sans", Helvetica, Arial, sans-serif; font-size: 15px; line-height: 1.5;
           color: #1d2330; background: #ffffff; max-width: 1180px; margin: 0 auto; padding: 24px 28px 60px; }
    h1 { font-size: 28px; margin: 0 0 4px; }
    .subtitle { color: #5a6272; margin: 0 0 18px; }
    h2 { font-size: 21px; margin: 34px 0 10px; padding-bottom: 4px; border-bottom: 2px solid #e3e7ee; }
    h3 { font-size: 17px; margin: 24px 0 8px; }
    h4 { font-size: 15px; margin: 18px 0 6px; }
    nav { background: #f5f7fa; border: 1px solid #e3e7ee; border-radius: 6px; padding: 8px 16px; margin: 12px 0 20px; }
    nav ol { margin: 4px 0; padding-left: 22px; }
    a { color: #1f5fae; }
    .table-wrap { overflow-x: auto; margin: 12px 0 20px; }
    table { border-collapse: collapse; font-size: 14px; }
    caption { caption-side: top; text-align: left; color: #5a6272; padding-bottom: 6px; }
    th, td { padding: 5px 12px; border-bottom: 1px solid #e3e7ee; text-align: left; vertical-align: top; }
    th { background: #f0f3f7; font-weight: bold; border-bottom: 2px solid #cfd6e0; }
    tbody tr:nth-child(even) { background: #fafbfc; }
    td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
    th.num { text-align: right; }
    .figures { display: flex; flex-wrap: wrap; gap: 18px; margin: 12px 0 20px; }
    figure { flex: 1 1 480px; margin: 0; min-width: 0; max-width: 100%; }
    figure svg { display: block; width: 100%; height: auto; border: 1px solid #e3e7ee; border-radius: 4px; }
    figcaption { color: #5a6272; font-size: 13px; margin-top: 4px; }
    pre { background: #f5f7fa; border: 1px solid #e3e7ee; border-radius: 4px; padding: 10px 12px;
          font-size: 13px; line-height: 1.4; overflow-x: auto; white-space: pre; }
    .pre-caption { color: #5a6272; font-size: 13px; margin: 10px 0 -6px; }
    details { border: 1px solid #e3e7ee; border-radius: 6px; padding: 6px 14px; margin: 12px 0; background: #fbfcfd; }
    details > summary { cursor: pointer; font-weight: bold; color: #1f5fae; }
    details[open] > summary { margin-bottom: 8px; }
    ul.takeaways li { margin: 4px 0; }
    .better { color: #1a7f37; } .worse { color: #c62828; } .none { color: #5a6272; }
    @media print { body { max-width: none; } figure { break-inside: avoid; } }
    """

    /// The complete page.
    public func render() -> String {
        let e = SVGDocument.escape
        var out = """
        <!DOCTYPE html>
        <html lang="en">
        <head>
        <meta charset="utf-8"/>
        <meta name="viewport" content="width=device-width, initial-scale=1"/>
        <meta name="generator" content="Nabla"/>
        <title>\(e(title))</title>
        <style>
        \(Self.styleSheet)
        </style>
        </head>
        <body>
        <h1>\(e(title))</h1>

        """
        if let subtitle { out += "<p class=\"subtitle\">\(e(subtitle))</p>\n" }
        let sections = blocks.compactMap { block -> (String, String)? in
            if case .heading(2, let text, let id) = block { return (text, id) }
            return nil
        }
        if includesContents && sections.count >= 3 {
            out += "<nav><strong>Contents</strong>\n<ol>\n"
            out += sections.map { "<li><a href=\"#\($0.1)\">\(e($0.0))</a></li>" }.joined(separator: "\n")
            out += "\n</ol></nav>\n"
        }
        for block in blocks {
            switch block {
            case .heading(let level, let text, let id):
                out += "<h\(level) id=\"\(id)\">\(e(text))</h\(level)>\n"
            case .paragraph(let text):
                out += "<p>\(e(text))</p>\n"
            case .list(let items):
                out += "<ul>\n" + items.map { "<li>\(e($0))</li>" }.joined(separator: "\n") + "\n</ul>\n"
            case .table(let table):
                out += "<div class=\"table-wrap\">\n" + table.html + "\n</div>\n"
            case .figures(let figures):
                out += "<div class=\"figures\">\n"
                for figure in figures {
                    // A chart is never drawn wider than its own size, so its text is never enlarged.
                    let style = figure.width.map { " style=\"max-width: \(SVGDocument.number($0))px\"" } ?? ""
                    out += "<figure\(style)>\n\(figure.svg)\n"
                    if let caption = figure.caption { out += "<figcaption>\(e(caption))</figcaption>\n" }
                    out += "</figure>\n"
                }
                out += "</div>\n"
            case .preformatted(let text, let caption):
                if let caption { out += "<p class=\"pre-caption\">\(e(caption))</p>\n" }
                out += "<pre>\(e(text))</pre>\n"
            case .html(let markup):
                out += markup + "\n"
            case .emphasizedList(let items):
                out += "<ul class=\"takeaways\">\n" + items.map { item in
                    let cls = item.lead.hasPrefix("better") ? "better" : item.lead.hasPrefix("worse") ? "worse" : "none"
                    return "<li><strong class=\"\(cls)\">\(e(item.lead))</strong> — \(e(item.text))</li>"
                }.joined(separator: "\n") + "\n</ul>\n"
            case .detailsStart(let summary):
                out += "<details>\n<summary>\(e(summary))</summary>\n"
            case .detailsEnd:
                out += "</details>\n"
            }
        }
        return out + "</body>\n</html>\n"
    }

    /// Writes the page atomically (temporary file, then rename), creating the directory if needed.
    /// - Throws: ``/NablaTensor/NablaError`` (`.io`) naming the path when it cannot be written.
    public func write(to url: URL) throws {
        try AtomicFile.write(Data(render().utf8), to: url)
    }
}
