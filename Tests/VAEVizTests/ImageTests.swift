import Foundation
import XCTest
@testable import VAEViz

final class ImageTests: XCTestCase {
    func testDrawingPrimitivesClip() throws {
        var img = RGBImage(width: 20, height: 10)
        img.setPixel(x: -1, y: 0, .black)
        img.setPixel(x: 20, y: 0, .black)
        img.fillRect(x: -5, y: -5, width: 7, height: 7, .black)
        XCTAssertEqual(img.pixel(x: 1, y: 1), .black)
        XCTAssertEqual(img.pixel(x: 2, y: 2), .white)
        XCTAssertNil(img.pixel(x: 20, y: 0))
        img.drawLine(x0: -1e300, y0: 5, x1: 1e300, y1: 5.5, .black, width: 1)
        img.drawLine(x0: 0, y0: 0, x1: .nan, y1: 3, .black)
        img.fillCircle(cx: 10, cy: 5, radius: 1e300, RGBColor(1, 2, 3), antialiased: false)
        XCTAssertEqual(img.pixel(x: 0, y: 0), RGBColor(1, 2, 3))
        var small = RGBImage(width: 3, height: 3, background: .black)
        small.setPixel(x: 1, y: 1, .white)
        img.blit(small, x: 18, y: 8)
        XCTAssertEqual(img.pixel(x: 19, y: 9), .white)
        img.blit(small, x: -100, y: 100)
        XCTAssertEqual(small.scaled(by: 2).width, 6)
        let d = try PNG.decode(img.png())
        XCTAssertEqual(d.channels, 3)
        XCTAssertEqual(d.pixels, img.pixels)
    }

    func testLineCoverage() {
        var img = RGBImage(width: 10, height: 10)
        img.drawLine(x0: 0, y0: 4.5, x1: 10, y1: 4.5, .black, width: 1)
        XCTAssertEqual(img.pixel(x: 5, y: 4), .black)
        XCTAssertEqual(img.pixel(x: 5, y: 3), .white)
        XCTAssertEqual(img.pixel(x: 5, y: 5), .white)
        var diag = RGBImage(width: 10, height: 10)
        diag.drawLine(x0: 0, y0: 0, x1: 10, y1: 10, .black, width: 1.5)
        XCTAssertEqual(diag.pixel(x: 5, y: 5), .black)
        XCTAssertEqual(diag.pixel(x: 9, y: 0), .white)
    }

    func testFontCoversPrintableASCII() throws {
        XCTAssertEqual(BitmapFont.glyphData.count, 95 * BitmapFont.glyphHeight)
        XCTAssertEqual(BitmapFont.textWidth("abc", scale: 2), (3 * 6 - 1) * 2)
        for code in 33...126 {
            let g = BitmapFont.glyph(Character(UnicodeScalar(UInt8(code))))
            XCTAssertTrue(g.contains { $0 != 0 }, "glyph \(code) is empty")
            XCTAssertTrue(g.allSatisfy { $0 < 32 }, "glyph \(code) wider than 5 columns")
        }
        // accented letters as their base letter (a class "café" read "caf?"); other scripts '?'
        XCTAssertEqual(BitmapFont.glyph("é"), BitmapFont.glyph("e"))
        XCTAssertEqual(BitmapFont.glyph("Å"), BitmapFont.glyph("A"))
        XCTAssertEqual(BitmapFont.glyph("猫"), BitmapFont.glyph("?"))
        XCTAssertEqual(BitmapFont.glyph("Ω"), BitmapFont.glyph("?"))
        // the KL's ‖ (every sequence run's KL chart read "KL(q(z|x) ? p(z))")
        XCTAssertNotEqual(BitmapFont.glyph("‖"), BitmapFont.glyph("?"))
        XCTAssertEqual(BitmapFont.glyph("‖").count, BitmapFont.glyphHeight)
        // the legends' z = μ and the minus sign have glyphs of their own
        XCTAssertNotEqual(BitmapFont.glyph("μ"), BitmapFont.glyph("?"))
        XCTAssertEqual(BitmapFont.glyph("μ").count, BitmapFont.glyphHeight)
        XCTAssertEqual(BitmapFont.glyph("µ"), BitmapFont.glyph("μ"))
        XCTAssertEqual(BitmapFont.glyph("−"), BitmapFont.glyph("-"))
        // the axes' z₁, z₂: lowered digits (they were '?')
        XCTAssertEqual(Array(BitmapFont.glyph("₁")), [0, 0] + Array(BitmapFont.glyph("1").prefix(7)))
        XCTAssertEqual(BitmapFont.glyph("₀").count, BitmapFont.glyphHeight)
        XCTAssertNotEqual(BitmapFont.glyph("₉"), BitmapFont.glyph("?"))
        var img = RGBImage(width: 6 * 32 * 2 + 8, height: 3 * 12 * 2 + 30)
        let all = String((32...126).map { Character(UnicodeScalar(UInt8($0))) })
        for (i, start) in stride(from: 0, to: all.count, by: 32).enumerated() {
            let line = String(Array(all)[start..<min(all.count, start + 32)])
            img.drawText(line, x: 4, y: 4 + i * 24, .black, scale: 2)
        }
        img.drawTextVertical("vertical: y-axis", x: 4, y: 4, RGBColor(hex: 0x1f77b4), scale: 1)
        dump("font.png", img.png())
        XCTAssertTrue(img.pixels.contains(0))
    }
}
