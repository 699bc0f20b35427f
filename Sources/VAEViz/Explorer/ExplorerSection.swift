import Foundation

/// A problem with data handed to the report (sizes that do not match).
public struct ReportError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

extension ReportPage {
    /// Adds the live explorer: the decoder's weights and a JavaScript forward pass in the page,
    /// a 2-D pad over the latent space (z₁, z₂, or the first two principal directions), a slider
    /// per dimension, hover to compare a test image with its reconstruction, and an
    /// interpolation slider. Also defines the page API `window.swiftvae`
    /// (`decode(z)`, `latent`, `shape`); see `ExplorerScript`.
    public mutating func addExplorer(_ data: ExplorerData, title: String = "Explore the latent space") throws {
        if let p = data.problem() { throw ReportError("explorer: \(p)") }
        let meta = try data.metaJSON()
        let k = data.decoder.latent
        let pca = k > 2
        let last = max(0, data.count - 1)
        let axesText = ReportPage.padAxesText(latent: k, explained: data.explained)
        var h = "<div class=\"vx\" id=\"swiftvae-explorer\">\n"
        h += "<p>The decoder runs in this page (float32 weights, a JavaScript forward pass): every picture below is decoded live. "
        // the first test images only (the page carries their pixels): their count and their PCA share
        // differ from the latent scatter's, which draws more items without pictures
        h += "The pad shows \(data.count == 1 ? "the one test image (the page carries its pixels)" : "the first \(data.count) test images (the page carries their pixels)") by their latent means over \(htmlEscape(axesText)); "
        h += "drag on it to move z, hover a point to see that test image beside its reconstruction.</p>\n"
        h += "<div class=\"vx-grid\">\n<div class=\"vx-padbox\">\n"
        h += ReportPage.padHTML(axesText: axesText, pcaHint: pca ? "Moving on the pad changes z only along the two principal directions; the sliders set each dimension." : nil)
        h += "<ul class=\"vx-legend\" id=\"vx-legend\" aria-label=\"classes\"></ul>\n</div>\n"
        h += "<div class=\"vx-side\">\n"
        h += "<figure class=\"vx-main\"><canvas id=\"vx-out\" class=\"vx-img vx-big\" role=\"img\" aria-label=\"The image decoded from the current z\"></canvas>"
        h += "<figcaption>decoded from the current z</figcaption></figure>\n"
        h += "<div class=\"vx-pair\" aria-live=\"polite\">"
        h += "<figure><canvas id=\"vx-hx\" class=\"vx-img\" role=\"img\" aria-label=\"The hovered test image\"></canvas><figcaption id=\"vx-hxcap\">test image</figcaption></figure>"
        h += "<figure><canvas id=\"vx-hr\" class=\"vx-img\" role=\"img\" aria-label=\"Its reconstruction, decoded from its latent mean\"></canvas><figcaption>its reconstruction</figcaption></figure>"
        h += "</div>\n"
        // the inputs take the images' ids (vae encode's, vae interpolate's --from and --to), not their
        // places in the page's list: a conditional --classes run's test images are some of the set's
        let id = { (i: Int) in data.testIndices.indices.contains(i) ? data.testIndices[i] : i }
        h += "<p><label>Start at test image <input type=\"number\" id=\"vx-start\" min=\"\(id(0))\" max=\"\(id(last))\" value=\"\(id(data.start))\"></label></p>\n"
        h += "<p class=\"vx-z\" id=\"vx-z\" aria-live=\"off\"></p>\n"
        h += "</div>\n</div>\n"
        h += "<h3>z, one slider per dimension</h3>\n<div class=\"vx-sliders\" id=\"vx-sliders\"></div>\n"
        h += "<h3>Interpolation</h3>\n<div class=\"vx-interp\">\n"
        h += ReportPage.interpolationControls(noun: "image", first: id(0), last: id(last), pair: (id(data.interpolation.0), id(data.interpolation.1)))
        h += "<div class=\"vx-row\">"
        h += "<figure><canvas id=\"vx-a\" class=\"vx-img\" role=\"img\" aria-label=\"First test image\"></canvas><figcaption id=\"vx-acap\">from</figcaption></figure>"
        h += "<figure><canvas id=\"vx-mid\" class=\"vx-img\" role=\"img\" aria-label=\"Decoded from (1 − t)·μ(from) + t·μ(to)\"></canvas><figcaption>decoded (1 − t)·μ₁ + t·μ₂</figcaption></figure>"
        h += "<figure><canvas id=\"vx-b\" class=\"vx-img\" role=\"img\" aria-label=\"Second test image\"></canvas><figcaption id=\"vx-bcap\">to</figcaption></figure>"
        h += "</div>\n</div>\n"
        h += "<noscript><p>The explorer needs JavaScript; the rest of the report does not.</p></noscript>\n"
        h += "</div>\n"
        blocks.append(.html(title: title, body: h))
        styles.append(ExplorerScript.css)

        var s = "<script type=\"application/json\" id=\"swiftvae-meta\">\(meta)</script>\n"
        s += "<script type=\"application/octet-stream\" id=\"swiftvae-weights\">\(ExplorerData.base64(data.weights))</script>\n"
        s += "<script type=\"application/octet-stream\" id=\"swiftvae-images\">\(Data(data.images).base64EncodedString())</script>\n"
        s += "<script type=\"application/octet-stream\" id=\"swiftvae-mu\">\(ExplorerData.base64(data.mu))</script>\n"
        s += "<script>\n\(ExplorerScript.js)</script>\n"
        scripts.append(s)
    }

    /// What the pad's axes are, in words.
    static func padAxesText(latent k: Int, explained: Double) -> String {
        k > 2 ? String(format: "the first two principal directions of these means (%.0f%% of their variance)", 100 * explained)
              : (k == 2 ? "z₁ (across) and z₂ (up)" : "z₁")
    }

    /// The pad's canvas and its hint (both explorers); `pcaHint` replaces "The cross is the current z."
    /// when the pad shows principal directions.
    static func padHTML(axesText: String, pcaHint: String?) -> String {
        var h = "<canvas id=\"vx-pad\" width=\"480\" height=\"480\" tabindex=\"0\" role=\"application\" aria-roledescription=\"2-D pad\" "
        h += "aria-label=\"Latent pad over \(htmlEscape(axesText))\" aria-describedby=\"vx-padhint\"></canvas>\n"
        h += "<p id=\"vx-padhint\" class=\"vx-hint\">Drag, or focus the pad and use the arrow keys (with Shift: larger steps). "
        h += (pcaHint ?? "The cross is the current z.") + "</p>\n"
        return h
    }

    /// The interpolation's two test-item fields and its t slider (both explorers).
    static func interpolationControls(noun: String, first: Int = 0, last: Int, pair: (Int, Int)) -> String {
        var h = "<p><label>from test \(noun) <input type=\"number\" id=\"vx-ia\" min=\"\(first)\" max=\"\(last)\" value=\"\(pair.0)\"></label> "
        h += "<label>to test \(noun) <input type=\"number\" id=\"vx-ib\" min=\"\(first)\" max=\"\(last)\" value=\"\(pair.1)\"></label></p>\n"
        h += "<p><label class=\"vx-tl\">t <input type=\"range\" id=\"vx-t\" min=\"0\" max=\"1\" step=\"0.01\" value=\"0.5\" "
        h += "aria-label=\"Position on the straight line between the two latent means, 0 to 1\"> <output id=\"vx-tv\">0.50</output></label></p>\n"
        return h
    }
}
