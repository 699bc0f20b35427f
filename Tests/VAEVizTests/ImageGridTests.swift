import Foundation
import XCTest
@testable import VAEViz

final class ImageGridTests: XCTestCase {
    func testGeometry() {
        let img = [Float](repeating: 0.5, count: 28 * 28)
        let g = ImageGrid.make(images: Array(repeating: img, count: 10), channels: 1, height: 28, width: 28, columns: 4)
        // 4 columns, 3 rows, 1px border around and between tiles.
        XCTAssertEqual(g.width, 4 * 28 + 5)
        XCTAssertEqual(g.height, 3 * 28 + 4)
        XCTAssertEqual(g.channels, 1)
        XCTAssertEqual(g.pixels.count, g.width * g.height)
        // Border pixel, tile pixel, and an unused slot (row 3, columns 2-3) stay border-coloured.
        XCTAssertEqual(g.pixels[0], 255)
        XCTAssertEqual(g.pixels[1 * g.width + 1], 128)
        XCTAssertEqual(g.pixels[(g.height - 2) * g.width + g.width - 2], 255)

        let s = ImageGrid.make(images: [img, img], channels: 1, height: 28, width: 28, columns: 8,
                               border: 2, scale: 3, borderValue: 0)
        XCTAssertEqual(s.width, 2 * 84 + 3 * 2)  // columns capped at the image count
        XCTAssertEqual(s.height, 84 + 4)
        XCTAssertEqual(s.pixels[0], 0)
        XCTAssertEqual(ImageGrid.size(count: 0, height: 28, width: 28, columns: 4).width, 1)
        let none = ImageGrid.make(images: [], channels: 3, height: 2, width: 2, columns: 3)
        XCTAssertEqual(none.pixels.count, 3)
    }

    func testClampingAndChannelLayout() {
        // 2x2 RGB image in CHW order with out-of-range and NaN values.
        let r: [Float] = [-1, 0.5, 2, .nan]
        let g: [Float] = [0, 0, 1, 1]
        let b: [Float] = [1, 1, 0, .infinity]
        let grid = ImageGrid.make(images: [r + g + b], channels: 3, height: 2, width: 2, columns: 1, border: 0)
        XCTAssertEqual(grid.width, 2)
        XCTAssertEqual(grid.pixels, [0, 0, 255, 128, 0, 255, 255, 255, 0, 0, 255, 255])
        // Nearest-neighbour scaling duplicates pixels.
        let up = ImageGrid.make(images: [[0, 1]], channels: 1, height: 1, width: 2, columns: 1, border: 0, scale: 2)
        XCTAssertEqual(up.pixels, [0, 0, 255, 255, 0, 0, 255, 255])
    }

    func testFlatInputAndPNG() throws {
        var flat: [Float] = []
        for n in 0..<16 {
            for y in 0..<28 {
                for x in 0..<28 {
                    // A ring whose radius depends on n: looks like a blurry "0".
                    let dx = Double(x) - 13.5, dy = Double(y) - 13.5
                    let d = (dx * dx + dy * dy).squareRoot() - Double(5 + n % 6)
                    flat.append(Float(exp(-d * d / 4)))
                }
            }
        }
        let png = ImageGrid.png(flat: flat, count: 16, channels: 1, height: 28, width: 28, columns: 8, scale: 2)
        dump("grid.png", png)
        let d = try PNG.decode(png)
        XCTAssertEqual(d.width, 8 * 56 + 9)
        XCTAssertEqual(d.height, 2 * 56 + 3)
        XCTAssertEqual(d.channels, 1)
        var rgb: [[Float]] = []
        for n in 0..<6 {
            var img: [Float] = []
            for c in 0..<3 {
                for i in 0..<64 { img.append(Float((i + n * 10 + c * 20) % 64) / 63) }
            }
            rgb.append(img)
        }
        let rgbPNG = ImageGrid.png(images: rgb, channels: 3, height: 8, width: 8, columns: 3, scale: 4)
        dump("grid-rgb.png", rgbPNG)
        XCTAssertEqual(try PNG.decode(rgbPNG).channels, 3)
    }

    /// Light-edged images (icons on white) get dark separators, which vanished as white ones did;
    /// dark-edged ones (MNIST) keep white.
    func testSeparatorShowsAgainstTheImages() {
        func images(edge: Float) -> [Float] {
            (0..<3).flatMap { _ in (0..<16).map { i -> Float in (i / 4 == 0 || i / 4 == 3 || i % 4 == 0 || i % 4 == 3) ? edge : 0.5 } }
        }
        XCTAssertEqual(ImageGrid.separatorValue(flat: images(edge: 1), count: 3, channels: 1, height: 4, width: 4), 64)
        XCTAssertEqual(ImageGrid.separatorValue(flat: images(edge: 0), count: 3, channels: 1, height: 4, width: 4), 255)
        XCTAssertEqual(ImageGrid.separatorValue(flat: [], count: 0, channels: 1, height: 4, width: 4), 255)
        XCTAssertEqual(ImageGrid.separatorValue(flat: [1], count: 1, channels: 1, height: 1, width: 1), 64)
        // icons that fill their frames but for a white corner band: a third of the edge white is enough
        // (the mean edge brightness, 0.5 here, kept white lines that vanished against the white)
        let band = (0..<16).map { i -> Float in i % 4 == 3 || i / 4 == 0 ? 1 : 0.2 }
        XCTAssertEqual(ImageGrid.separatorValue(flat: band + band, count: 2, channels: 1, height: 4, width: 4), 64)
        // RGB: near white in every channel, not in one
        let red = (0..<3).flatMap { c in [Float](repeating: c == 0 ? 1 : 0, count: 16) }
        XCTAssertEqual(ImageGrid.separatorValue(flat: red, count: 1, channels: 3, height: 4, width: 4), 255)
    }
}
