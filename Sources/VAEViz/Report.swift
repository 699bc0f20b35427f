import Foundation

/// Builds one self-contained HTML page (inline CSS, PNGs as base64 data URIs, SVG inline).
/// All text passed in is HTML-escaped; SVG strings are inserted as given (they come from
/// this module's plots, which escape their own text).
public struct ReportPage: Sendable {
    enum Block: Sendable {
        case keyValues(title: String, pairs: [(String, String)])
        case table(title: String, columns: [String], rows: [[String]])
        case image(title: String, png: [UInt8], caption: String, pixelated: Bool)
        case svg(title: String, svg: String, caption: String)
        case paragraph(title: String, text: String)
        /// Markup built by this module (e.g. the explorer), inserted as given.
        case html(title: String, body: String)
    }

    public var title: String
    /// Optional line under the title (e.g. a timestamp or command line).
    public var subtitle: String
    var blocks: [Block] = []
    /// Extra CSS and scripts of this module's interactive sections (the scripts go at the end
    /// of the body, so they run before the load event).
    var styles: [String] = []
    var scripts: [String] = []

    public init(title: String, subtitle: String = "") {
        self.title = title
        self.subtitle = subtitle
    }

    public mutating func addKeyValues(_ title: String, _ pairs: [(String, String)]) {
        blocks.append(.keyValues(title: title, pairs: pairs))
    }

    public mutating func addTable(_ title: String, columns: [String], rows: [[String]]) {
        blocks.append(.table(title: title, columns: columns, rows: rows))
    }

    /// Numeric convenience: formats values with `%.{decimals}f` (non-finite values shown as-is).
    public mutating func addTable(_ title: String, columns: [String], rows: [[Double]], decimals: Int = 4) {
        let d = min(12, max(0, decimals))
        let text = rows.map { $0.map { $0.isFinite ? String(format: "%.\(d)f", $0) : "\($0)" } }
        blocks.append(.table(title: title, columns: columns, rows: text))
    }

    /// `pixelated: true` keeps small images (digit grids) sharp when the browser scales them.
    public mutating func addImage(_ title: String, png: [UInt8], caption: String = "", pixelated: Bool = false) {
        blocks.append(.image(title: title, png: png, caption: caption, pixelated: pixelated))
    }

    public mutating func addSVG(_ title: String, svg: String, caption: String = "") {
        blocks.append(.svg(title: title, svg: svg, caption: caption))
    }

    public mutating func addParagraph(_ title: String, _ text: String) {
        blocks.append(.paragraph(title: title, text: text))
    }

    public func html() -> String {
        var h = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        h += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        h += "<title>\(htmlEscape(title))</title>\n<style>\n\(Self.css)\(styles.joined())</style>\n</head>\n<body>\n<main>\n"
        h += "<h1>\(htmlEscape(title))</h1>\n"
        if !subtitle.isEmpty { h += "<p class=\"subtitle\">\(htmlEscape(subtitle))</p>\n" }
        for block in blocks {
            h += "<section>\n"
            switch block {
            case let .keyValues(title, pairs):
                h += heading(title)
                h += "<table class=\"kv\">\n<tbody>\n"
                for (k, v) in pairs {
                    h += "<tr><th scope=\"row\">\(htmlEscape(k))</th><td>\(htmlEscape(v))</td></tr>\n"
                }
                h += "</tbody>\n</table>\n"
            case let .table(title, columns, rows):
                h += heading(title)
                h += "<div class=\"scroll\"><table class=\"metrics\">\n"
                if !columns.isEmpty {
                    h += "<thead><tr>" + columns.map { "<th>\(htmlEscape($0))</th>" }.joined() + "</tr></thead>\n"
                }
                h += "<tbody>\n"
                for row in rows {
                    // numbers right-aligned; text (items, molecules) left, in a fixed-width font
                    h += "<tr>" + row.map { cell in
                        let numeric = cell.isEmpty || Double(cell.replacingOccurrences(of: ",", with: "")) != nil
                        return numeric ? "<td>\(htmlEscape(cell))</td>" : "<td class=\"text\">\(htmlEscape(cell))</td>"
                    }.joined() + "</tr>\n"
                }
                h += "</tbody>\n</table></div>\n"
            case let .image(title, png, caption, pixelated):
                h += heading(title)
                let b64 = Data(png).base64EncodedString()
                h += "<figure>\n<img src=\"data:image/png;base64,\(b64)\" alt=\"\(htmlEscape(title))\""
                if pixelated { h += " class=\"pixelated\"" }
                h += ">\n"
                if !caption.isEmpty { h += "<figcaption>\(htmlEscape(caption))</figcaption>\n" }
                h += "</figure>\n"
            case let .svg(title, svg, caption):
                h += heading(title)
                h += "<figure>\n<div class=\"svg\">\n\(Self.stripXMLDeclaration(svg))</div>\n"
                if !caption.isEmpty { h += "<figcaption>\(htmlEscape(caption))</figcaption>\n" }
                h += "</figure>\n"
            case let .paragraph(title, text):
                h += heading(title)
                for para in text.components(separatedBy: "\n\n") where !para.isEmpty {
                    h += "<p>\(htmlEscape(para))</p>\n"
                }
            case let .html(title, body):
                h += heading(title)
                h += body
            }
            h += "</section>\n"
        }
        h += "</main>\n"
        for script in scripts { h += script }
        h += "</body>\n</html>\n"
        return h
    }

    private func heading(_ title: String) -> String {
        title.isEmpty ? "" : "<h2>\(htmlEscape(title))</h2>\n"
    }

    static func stripXMLDeclaration(_ svg: String) -> String {
        guard svg.hasPrefix("<?xml"), let end = svg.range(of: "?>") else { return svg }
        return String(svg[end.upperBound...])
    }

    static let css = """
    :root { color-scheme: light; }
    body { margin: 0; background: #f4f5f7; color: #1f2328;
      font: 15px/1.5 -apple-system, BlinkMacSystemFont, "Segoe UI", Helvetica, Arial, sans-serif; }
    main { max-width: 1000px; margin: 0 auto; padding: 24px 20px 48px; }
    h1 { font-size: 26px; margin: 8px 0 4px; }
    .subtitle { color: #57606a; margin: 0 0 16px; }
    section { background: #fff; border: 1px solid #d8dee4; border-radius: 8px;
      padding: 16px 20px; margin: 16px 0; }
    h2 { font-size: 18px; margin: 0 0 12px; }
    table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
    th, td { padding: 4px 12px; border-bottom: 1px solid #eaeef2; text-align: left; vertical-align: top; }
    table.kv th { color: #57606a; font-weight: 600; white-space: nowrap; }
    table.kv td { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 13px;
      overflow-wrap: anywhere; }
    table.metrics thead th { background: #f6f8fa; border-bottom: 2px solid #d0d7de; }
    table.metrics td { text-align: right; }
    table.metrics td.text { text-align: left; font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace;
      font-size: 13px; overflow-wrap: anywhere; }
    table.metrics tbody tr:nth-child(even) { background: #fafbfc; }
    .scroll { overflow-x: auto; }
    figure { margin: 0; }
    figure img, figure .svg svg { display: block; max-width: 100%; height: auto; }
    /* a chart keeps readable text on a narrow screen: it scrolls sideways below 520 px */
    figure .svg { overflow-x: auto; }
    figure .svg svg { min-width: 520px; }
    img.pixelated { image-rendering: pixelated; image-rendering: crisp-edges; min-width: min(100%, 480px); }
    figcaption { color: #57606a; font-size: 13px; margin-top: 8px; }
    p { margin: 0 0 8px; }

    """
}

extension ReportPage {
    /// Escapes text for HTML element content and attribute values.
    public static func escapeHTML(_ s: String) -> String { htmlEscape(s) }
}

/// HTML text and attribute values need exactly what XML needs.
func htmlEscape(_ s: String) -> String { xmlEscape(s) }
