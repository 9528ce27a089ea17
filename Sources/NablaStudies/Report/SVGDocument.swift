/// A tiny SVG builder: elements are appended as escaped markup, coordinates are in user units
/// (the `viewBox`), and the result is a string — no dependencies, no DOM.
///
/// Every piece of text goes through ``SVGDocument/escape(_:)``, so a label such as `loss <0.1 & rising>`
/// is safe in SVG, XHTML and HTML alike.
public struct SVGDocument: Sendable {
    /// The width of the `viewBox` and of the rendered element.
    public let width: Double
    /// The height of the `viewBox` and of the rendered element.
    public let height: Double
    /// The markup of the elements, in drawing order.
    public private(set) var elements: [String] = []

    /// The font stack used for all text (DejaVu Sans ships with Debian and most Linux desktops).
    public static let fontFamily = "DejaVu Sans, Helvetica, Arial, sans-serif"

    /// An empty drawing of `width × height` user units.
    /// - Precondition: both are positive.
    public init(width: Double, height: Double) {
        precondition(width > 0 && height > 0, "SVGDocument: size \(width)×\(height) must be positive")
        self.width = width
        self.height = height
    }

    /// Escapes `&`, `<`, `>`, `"` and `'` and drops the control characters XML 1.0 forbids.
    public static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            case "\t", "\n", "\r": out.unicodeScalars.append(scalar)
            default:
                if scalar.value >= 0x20 && scalar.value != 0xFFFE && scalar.value != 0xFFFF {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        return out
    }

    /// A coordinate or length with at most two decimals (`12.5`, `3`); non-finite values become 0.
    public static func number(_ value: Double) -> String {
        guard value.isFinite else { return "0" }
        let rounded = (value * 100).rounded() / 100
        if rounded == rounded.rounded() && abs(rounded) < 1e15 { return String(Int(rounded)) }
        return "\(rounded)"
    }

    /// Roughly how wide `text` renders at `fontSize` in the font stack above (average advance of
    /// DejaVu Sans ≈ 0.6 em; digits and lower case are a little narrower, capitals wider).
    public static func estimatedWidth(of text: String, fontSize: Double) -> Double {
        var ems = 0.0
        for c in text {
            if c.isUppercase || c == "W" || c == "m" || c == "w" { ems += 0.72 }
            else if c == "i" || c == "l" || c == "." || c == "," || c == "'" || c == "|" || c == "j" { ems += 0.3 }
            else if c == " " { ems += 0.32 }
            else { ems += 0.6 }
        }
        return ems * fontSize
    }

    /// Appends an element `<name attributes…/>` or `<name attributes…>content</name>`.
    /// Attribute values are escaped; `content` must already be markup (escape text with ``escape(_:)``).
    public mutating func element(_ name: String, _ attributes: [(String, String)], content: String? = nil) {
        elements.append(Self.markup(name, attributes, content: content))
    }

    static func markup(_ name: String, _ attributes: [(String, String)], content: String? = nil) -> String {
        var tag = "<" + name
        for (key, value) in attributes { tag += " \(key)=\"\(escape(value))\"" }
        if let content { return tag + ">" + content + "</\(name)>" }
        return tag + "/>"
    }

    /// Appends markup built elsewhere (e.g. a group of elements).
    public mutating func appendMarkup(_ markup: String) { elements.append(markup) }

    /// Appends a `<line>` from `(x1, y1)` to `(x2, y2)`; `dash` is a `stroke-dasharray`.
    public mutating func line(x1: Double, y1: Double, x2: Double, y2: Double, stroke: String,
                              width: Double = 1, dash: String? = nil, opacity: Double? = nil) {
        var attributes = [("x1", Self.number(x1)), ("y1", Self.number(y1)), ("x2", Self.number(x2)),
                          ("y2", Self.number(y2)), ("stroke", stroke), ("stroke-width", Self.number(width))]
        if let dash { attributes.append(("stroke-dasharray", dash)) }
        if let opacity { attributes.append(("stroke-opacity", Self.number(opacity))) }
        element("line", attributes)
    }

    /// Appends a `<rect>` with top-left corner `(x, y)`; negative sizes are drawn as 0.
    public mutating func rect(x: Double, y: Double, width: Double, height: Double, fill: String,
                              stroke: String? = nil, strokeWidth: Double = 1, fillOpacity: Double? = nil) {
        var attributes = [("x", Self.number(x)), ("y", Self.number(y)), ("width", Self.number(max(0, width))),
                          ("height", Self.number(max(0, height))), ("fill", fill)]
        if let fillOpacity { attributes.append(("fill-opacity", Self.number(fillOpacity))) }
        if let stroke { attributes += [("stroke", stroke), ("stroke-width", Self.number(strokeWidth))] }
        element("rect", attributes)
    }

    /// Appends a `<circle>` centred at `(cx, cy)`; `title` becomes a tooltip.
    public mutating func circle(cx: Double, cy: Double, r: Double, fill: String, stroke: String? = nil,
                                strokeWidth: Double = 1, title: String? = nil) {
        var attributes = [("cx", Self.number(cx)), ("cy", Self.number(cy)), ("r", Self.number(r)), ("fill", fill)]
        if let stroke { attributes += [("stroke", stroke), ("stroke-width", Self.number(strokeWidth))] }
        element("circle", attributes, content: title.map { "<title>\(Self.escape($0))</title>" })
    }

    /// A polyline through `points` (no fill).
    public mutating func polyline(_ points: [(x: Double, y: Double)], stroke: String, width: Double = 1.8,
                                  dash: String? = nil, opacity: Double? = nil) {
        guard points.count >= 2 else { return }
        let list = points.map { Self.number($0.x) + "," + Self.number($0.y) }.joined(separator: " ")
        var attributes = [("points", list), ("fill", "none"), ("stroke", stroke), ("stroke-width", Self.number(width)),
                          ("stroke-linejoin", "round"), ("stroke-linecap", "round")]
        if let dash { attributes.append(("stroke-dasharray", dash)) }
        if let opacity { attributes.append(("stroke-opacity", Self.number(opacity))) }
        element("polyline", attributes)
    }

    /// A path with SVG path data `d`.
    public mutating func path(_ d: String, stroke: String?, fill: String = "none", strokeWidth: Double = 1,
                              fillOpacity: Double? = nil, dash: String? = nil) {
        guard !d.isEmpty else { return }
        var attributes = [("d", d), ("fill", fill)]
        if let fillOpacity { attributes.append(("fill-opacity", Self.number(fillOpacity))) }
        if let stroke { attributes += [("stroke", stroke), ("stroke-width", Self.number(strokeWidth))] }
        if let dash { attributes.append(("stroke-dasharray", dash)) }
        element("path", attributes)
    }

    /// Text anchored at (x, y); `anchor` is `start`, `middle` or `end`; `rotation` in degrees about (x, y).
    /// With `maxWidth`, text whose estimated width (bold counted 10% wider) exceeds it is squeezed to
    /// exactly that width (SVG `textLength`), so it never runs past the chart's edge.
    public mutating func text(_ text: String, x: Double, y: Double, size: Double = 12, anchor: String = "start",
                              baseline: String? = nil, weight: String? = nil, fill: String = "#222",
                              rotation: Double? = nil, halo: Bool = false, maxWidth: Double? = nil) {
        var attributes = [("x", Self.number(x)), ("y", Self.number(y)), ("font-size", Self.number(size)),
                          ("text-anchor", anchor), ("fill", fill)]
        if let maxWidth, Self.estimatedWidth(of: text, fontSize: size) * (weight == "bold" ? 1.1 : 1) > maxWidth {
            attributes += [("textLength", Self.number(maxWidth)), ("lengthAdjust", "spacingAndGlyphs")]
        }
        if let baseline { attributes.append(("dominant-baseline", baseline)) }
        if let weight { attributes.append(("font-weight", weight)) }
        if let rotation {
            attributes.append(("transform", "rotate(\(Self.number(rotation)) \(Self.number(x)) \(Self.number(y)))"))
        }
        if halo { attributes += [("stroke", "#ffffff"), ("stroke-width", "3"), ("paint-order", "stroke")] }
        element("text", attributes, content: Self.escape(text))
    }

    /// The document. `standalone` adds the XML namespace a `.svg` file needs; inline SVG inside HTML
    /// does not need it (the HTML parser places `<svg>` in the SVG namespace itself).
    public func render(standalone: Bool = false, title: String? = nil) -> String {
        var attributes: [(String, String)] = []
        if standalone { attributes.append(("xmlns", "http://www.w3.org/2000/svg")) }
        attributes += [("viewBox", "0 0 \(Self.number(width)) \(Self.number(height))"),
                       ("width", Self.number(width)), ("height", Self.number(height)),
                       ("font-family", Self.fontFamily), ("role", "img")]
        var content = "\n"
        if let title { content += "<title>\(Self.escape(title))</title>\n" }
        content += elements.joined(separator: "\n") + "\n"
        let svg = Self.markup("svg", attributes, content: content)
        return standalone ? "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n" + svg + "\n" : svg
    }
}
