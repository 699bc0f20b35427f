import Foundation
import XCTest
@testable import VAECore
@testable import VAEKit

/// The rANS stack, the portable maths and bits-back coding: exact round trips, the bits it costs,
/// and archives that are refused rather than decoded wrongly.
final class CompressionTests: XCTestCase {
    /// Symbols pushed with random distributions pop back in reverse order, whatever the precision;
    /// popping an empty stack borrows the given words, and pushing back returns exactly them.
    func testRANSStackRoundTripsAndBorrows() {
        var rng = RNG(seed: 1)
        var stack = RANSStack(borrow: { _ in XCTFail("a stack that only pushed then popped never borrows"); return 0 })
        var pushed: [(UInt32, UInt32, Int)] = []
        for _ in 0..<20_000 {
            let bits = 1 + Int(rng.uniform() * 30)
            let total = UInt64(1) << UInt64(bits)
            let freq = UInt32(max(1, min(total, UInt64(Double(rng.uniform()) * Double(total)))))
            let start = UInt32(UInt64(Double(rng.uniform()) * Double(total - UInt64(freq))))
            stack.push(start: start, freq: freq, scaleBits: bits)
            pushed.append((start, freq, bits))
        }
        XCTAssertGreaterThan(stack.words.count, 100)
        for (start, freq, bits) in pushed.reversed() {
            let s = stack.peek(scaleBits: bits)
            XCTAssertTrue(s >= start && s < start + freq, "popped a symbol that was not pushed")
            stack.pop(start: start, freq: freq, scaleBits: bits)
        }
        XCTAssertEqual(stack.state, RANSStack.lower)
        XCTAssertTrue(stack.words.isEmpty)
        // popping from nothing takes borrowed words; pushing the same symbols back returns them
        var b = RANSStack(borrow: { UInt32(truncatingIfNeeded: 0x9E37_79B9 &* UInt32($0 + 1)) })
        var popped: [(UInt32, UInt32)] = []
        for _ in 0..<500 {
            let s = b.peek(scaleBits: 8)
            b.pop(start: s, freq: 1, scaleBits: 8)
            popped.append((s, 1))
        }
        XCTAssertGreaterThan(b.borrowed, 100)
        for (s, f) in popped.reversed() { b.push(start: s, freq: f, scaleBits: 8) }
        XCTAssertEqual(b.state, RANSStack.lower)
        XCTAssertEqual(b.words, (0..<b.borrowed).reversed().map { UInt32(truncatingIfNeeded: 0x9E37_79B9 &* UInt32($0 + 1)) })
    }

    func testPortableMathAgainstTheCLibrary() {
        var worstExp = 0.0, worstCDF = 0.0
        for i in 0...4000 {
            let x = -30 + 60 * Double(i) / 4000
            worstExp = max(worstExp, abs(PortableMath.exp(x) / Foundation.exp(x) - 1))
            let t = -6 + 12 * Double(i) / 4000
            worstCDF = max(worstCDF, abs(PortableMath.normalCDF(t) - 0.5 * Foundation.erfc(-t / 2.0.squareRoot())))
        }
        XCTAssertLessThan(worstExp, 1e-15)
        XCTAssertLessThan(worstCDF, 1e-7)
        XCTAssertEqual(PortableMath.tanh(0.3), Foundation.tanh(0.3), accuracy: 1e-15)
        XCTAssertEqual(PortableMath.sigmoid(-2), 1 / (1 + Foundation.exp(2)), accuracy: 1e-15)
        XCTAssertEqual(PortableMath.normalCDF(PortableMath.normalQuantile(0.975)), 0.975, accuracy: 1e-12)
        XCTAssertEqual(PortableMath.normalQuantile(0.5), 0, accuracy: 1e-7)
    }

    /// The portable forward pass computes what the model's own (fast) forward pass computes.
    func testPortableNetworkMatchesTheModel() throws {
        for activation in [VAEConfig.HiddenActivation.tanh, .relu] {
            let model = try VAE(config: VAEConfig(inputShape: [1, 5, 5], latent: 3, hidden: [16, 8], activation: activation), seed: 2)
            let enc = try PortableNetwork(model.encoder, what: "encoder"), dec = try PortableNetwork(model.decoder, what: "decoder")
            var rng = RNG(seed: 3)
            let x = Tensor(shape: [1, 25]); rng.fillUniform(x.pointer, count: 25, 0, 1)
            let h = model.encodeRaw(x).array, hp = enc(x.array.map(Double.init))
            for i in 0..<6 { XCTAssertEqual(Double(h[i]), hp[i], accuracy: 1e-5) }
            let z = Tensor(shape: [1, 3]); rng.fillNormal(z.pointer, count: 3)
            let o = model.decodeLogits(z).array, op = dec(z.array.map(Double.init))
            for i in 0..<25 { XCTAssertEqual(Double(o[i]), op[i], accuracy: 1e-5) }
        }
    }

    func tinyCodec(seed: UInt64 = 4) throws -> BitsBackCodec {
        try BitsBackCodec(model: VAE(config: VAEConfig(inputShape: [1, 6, 6], latent: 4, hidden: [24], activation: .tanh), seed: seed))
    }

    func binaryImages(_ count: Int, seed: UInt64 = 5) -> [UInt8] {
        var rng = RNG(seed: seed)
        // a blob per image, so that the images have structure
        var px = [UInt8]()
        for _ in 0..<count {
            let cx = rng.uniform(0, 6), cy = rng.uniform(0, 6)
            for y in 0..<6 { for x in 0..<6 { px.append(hypotf(Float(x) - cx, Float(y) - cy) < 2.2 || rng.uniform() < 0.05 ? 255 : 0) } }
        }
        return px
    }

    func testRoundTripIsExactAndCostsAboutTheELBO() throws {
        let codec = try tinyCodec()
        let images = binaryImages(300)
        let (archive, stats) = try codec.compress(images, count: 300)
        let (back, count, _) = try codec.decompress(archive, source: "test archive")
        XCTAssertEqual(count, 300)
        XCTAssertEqual(back, images, "the pixels did not come back exactly")
        XCTAssertGreaterThan(stats.initialBits, 0)
        XCTAssertEqual(stats.bytes, archive.count)
        // the cost is the model's −ELBO (in bits) up to the coder's overhead (an untrained model: a large −ELBO)
        let model = try VAE(config: VAEConfig(inputShape: [1, 6, 6], latent: 4, hidden: [24], activation: .tanh), seed: 4)
        let x = Tensor(shape: [300, 36])
        for i in 0..<x.count { x[i] = images[i] == 255 ? 1 : 0 }
        var total = 0.0
        var rng = RNG(seed: 9)
        for _ in 0..<200 {
            let eps = Tensor(shape: [300, 4]); rng.fillNormal(eps.pointer, count: eps.count)
            let l = model.perExampleLoss(x: x, eps: eps)
            total += l.recon.reduce(0, +) + l.kl.reduce(0, +)
        }
        let elboBits = total / 200 / log(2)
        XCTAssertEqual(Double(8 * stats.bytes), elboBits, accuracy: 0.05 * elboBits + 8 * 120,
                       "bits-back coding should cost about −ELBO bits")
        // the same images give the same archive
        XCTAssertEqual(try codec.compress(images, count: 300).archive, archive)
    }

    /// 8-bit images with both discrete likelihoods: every level comes back, and the cost is the −ELBO.
    func testEightBitRoundTripsForBothDiscreteLikelihoods() throws {
        var rng = RNG(seed: 21)
        let images = (0..<(60 * 36)).map { i -> UInt8 in i % 7 == 0 ? 255 : i % 5 == 0 ? 0 : UInt8(rng.uniform() * 255) }
        for likelihood in [VAEConfig.Likelihood.betaBinomial, .discretizedLogistic] {
            let config = VAEConfig(inputShape: [1, 6, 6], latent: 3, hidden: [16], likelihood: likelihood, activation: .tanh)
            let model = try VAE(config: config, seed: 6)
            let codec = try BitsBackCodec(model: model)
            XCTAssertNotEqual(codec.kind, .binary)
            let (archive, stats) = try codec.compress(images, count: 60)
            let (back, _, _) = try codec.decompress(archive, source: "8-bit")
            XCTAssertEqual(back, images, "\(likelihood): levels changed")
            let x = Tensor(shape: [60, 36])
            for i in 0..<x.count { x[i] = Float(images[i]) / 255 }
            var total = 0.0
            for _ in 0..<100 {
                let eps = Tensor(shape: [60, 3]); rng.fillNormal(eps.pointer, count: eps.count)
                let l = model.perExampleLoss(x: x, eps: eps)
                total += l.recon.reduce(0, +) + l.kl.reduce(0, +)
            }
            let elboBits = total / 100 / log(2)
            XCTAssertEqual(Double(8 * stats.bytes), elboBits, accuracy: 0.03 * elboBits + 8 * 120, "\(likelihood)")
            // a binary-model archive is not read by this one
            XCTAssertThrowsError(try codec.decompress(try tinyCodec().compress(binaryImages(3), count: 3).archive, source: "b"))
        }
    }

    func testHostileArchivesAreRefusedWithOneLine() throws {
        let codec = try tinyCodec()
        let images = binaryImages(40)
        let (archive, _) = try codec.compress(images, count: 40)
        func refused(_ bytes: [UInt8], _ fragment: String, file: StaticString = #filePath, line: UInt = #line) {
            XCTAssertThrowsError(try codec.decompress(bytes, source: "a.bba"), file: file, line: line) { e in
                let text = "\(e)"
                XCTAssertTrue(text.contains(fragment), text, file: file, line: line)
                XCTAssertFalse(text.contains("\n"), file: file, line: line)
            }
        }
        refused(Array(archive.prefix(archive.count - 9)), "checksum")
        refused(Array(archive.prefix(5)), "not a SwiftVAE compressed archive")
        var flipped = archive; flipped[archive.count / 2] ^= 0x10
        refused(flipped, "checksum")
        // the version field is read once the checksum holds: flipped alone it is damage (a newer
        // format is named as a possibility), sealed with a new checksum it is the version
        func resealed(_ b: [UInt8]) -> [UInt8] {
            let body = Array(b.dropLast(8)), c = ArchiveWriter.checksum(body)
            return body + (0..<8).map { UInt8(truncatingIfNeeded: c >> UInt64(8 * $0)) }
        }
        var future = archive; future[8] = 2
        refused(future, "damaged or truncated: its checksum does not match")
        refused(future, "or it is format version 2 of a newer SwiftVAE")
        refused(resealed(future), "is archive format version 2; this SwiftVAE reads up to version 1: update SwiftVAE")
        var zero = archive; zero[8] = 0
        refused(zero, "checksum does not match")
        refused(resealed(zero), "format version 0, which no SwiftVAE writes")
        refused(Array("hello world, not an archive".utf8), "not a SwiftVAE compressed archive")
        // another model (other weights) is named as such
        XCTAssertThrowsError(try tinyCodec(seed: 99).decompress(archive, source: "a.bba")) { e in
            XCTAssertTrue("\(e)".contains("another model"), "\(e)")
        }
        // every truncation and every single-byte change is refused (never wrong pixels)
        var rng = RNG(seed: 8)
        for _ in 0..<200 {
            var b = archive
            let i = Int(rng.uniform() * Float(b.count - 1))
            b[i] = b[i] &+ UInt8(1 + Int(rng.uniform() * 254))
            XCTAssertThrowsError(try codec.decompress(b, source: "x"))
            XCTAssertThrowsError(try codec.decompress(Array(archive.prefix(i)), source: "x"))
        }
        // altered content under a valid checksum (what a checksum cannot catch): refused, never decoded
        // into other pixels — the decoder must run out of bits or miss its initial bits
        var refusedCount = 0
        for trial in 0..<300 {
            var b = archive
            for _ in 0..<(1 + trial % 3) {
                let i = 12 + Int(rng.uniform() * Float(b.count - 20))
                b[i] ^= UInt8(1 + Int(rng.uniform() * 254))
            }
            do {
                let (back, _, _) = try codec.decompress(BitsBackCodec.resealed(b), source: "x")
                XCTAssertEqual(back, images, "an altered archive decoded into other pixels")
            } catch { refusedCount += 1 }
        }
        XCTAssertGreaterThan(refusedCount, 290)
        // pixels that are not binary are refused with the fix
        var gray = images; gray[7] = 128
        XCTAssertThrowsError(try codec.compress(gray, count: 40)) { e in XCTAssertTrue("\(e)".contains("--binarize"), "\(e)") }
    }

    /// An image may cost next to nothing: a model sure of a blank image (posterior = prior, every
    /// pixel 0 with probability 1 − 10⁻¹³) codes 5,000 of them in a few words. The decoder took
    /// such an archive for a damaged one ("under half a bit each") after compress had written it.
    func testImagesThatCostNextToNothingRoundTrip() throws {
        let model = try VAE(config: VAEConfig(inputShape: [1, 6, 6], latent: 4, hidden: [24], activation: .tanh), seed: 4)
        for p in model.store.parameters { p.value.fill(0) }
        let outputBias = try XCTUnwrap(model.store.parameters.last { $0.name.hasSuffix("bias") && $0.count == 36 })
        outputBias.value.fill(-30)
        let codec = try BitsBackCodec(model: model)
        let blank = [UInt8](repeating: 0, count: 5000 * 36)
        let (archive, stats) = try codec.compress(blank, count: 5000)
        XCTAssertLessThan(stats.bitsPerDimension, 0.01)
        XCTAssertEqual(try codec.decompress(archive, source: "blank.bba").images, blank)
        // what a header lets a reader take: this archive whole; a crafted header (2³² − 1 words and
        // images) no more than itself, not a terabyte
        XCTAssertGreaterThanOrEqual(try XCTUnwrap(BitsBackCodec.sizeBound(prefix: Array(archive.prefix(64)))), archive.count)
        var crafted = Array(archive.prefix(64))
        for i in [24, 25, 26, 27, 60, 61, 62, 63] { crafted[i] = 0xFF }
        XCTAssertEqual(BitsBackCodec.sizeBound(prefix: crafted), 72)
        for i in [24, 25, 26, 27] { crafted[i] = 0 }
        crafted[24] = 100   // 100 images, 2³² − 1 words: bounded by what 100 images can cost
        XCTAssertLessThan(try XCTUnwrap(BitsBackCodec.sizeBound(prefix: crafted)), 10_000_000)
        // dimensions whose product passes 2⁶³ (the top bytes of height and width damaged), or a
        // product that times the likelihood's bits would: the header alone, not an overflow trap
        var wide = Array(archive.prefix(64))
        wide[35] = 0xFF; wide[39] = 0xFF
        XCTAssertEqual(BitsBackCodec.sizeBound(prefix: wide), 72)
        wide = Array(archive.prefix(64))
        for i in 24..<40 { wide[i] = 0 }
        wide[28] = 1; wide[35] = 0x80; wide[39] = 0x80   // no images of 1 × 2³¹ × 2³¹
        XCTAssertEqual(BitsBackCodec.sizeBound(prefix: wide), 72)
    }

    /// Stored names are PNG file names: an archive whose name was altered under a valid checksum
    /// (image-1.png → image-1.txt) is refused, not decoded into a PNG named .txt; a name with a
    /// backslash is said to have one.
    func testStoredNamesArePNGNames() throws {
        let codec = try tinyCodec()
        let images = binaryImages(2)
        XCTAssertThrowsError(try codec.compress(images, count: 2, names: ["a.png", "b.txt"], source: "dir")) { e in
            XCTAssertTrue("\(e)".contains("\"b.txt\" is no PNG file's name"), "\(e)")
        }
        XCTAssertThrowsError(try codec.compress(images, count: 2, names: ["a.png", "b\\c.png"], source: "dir")) { e in
            XCTAssertTrue("\(e)".contains("no '/' or '\\'"), "\(e)")
        }
        let (archive, _) = try codec.compress(images, count: 2, names: ["image-1.png", "image-2.PNG"])
        XCTAssertEqual(try codec.decompress(archive, source: "a.bba").names, ["image-1.png", "image-2.PNG"])
        let at = try XCTUnwrap(archive.indices.first { Array(archive[$0..<min($0 + 11, archive.count)]) == Array("image-1.png".utf8) })
        var renamed = archive
        for (i, b) in Array("txt".utf8).enumerated() { renamed[at + 8 + i] = b }
        XCTAssertThrowsError(try codec.decompress(BitsBackCodec.resealed(renamed), source: "r.bba")) { e in
            XCTAssertTrue("\(e)".contains("\"image-1.txt\" is no PNG file's name"), "\(e)")
        }
    }

    /// More pixels than decompressing holds at once (100,000,000) are refused before any work —
    /// compress wrote such an archive and exited 0, and no decoder would read it back.
    func testMoreThanAnArchiveHoldsIsRefusedBeforeCompressing() throws {
        let codec = try tinyCodec()
        let count = BitsBackCodec.maxPixels / 36 + 1
        XCTAssertThrowsError(try codec.compress([], count: count, source: "big.idx")) { e in
            XCTAssertEqual("\(e)", "big.idx: \(count) images of 36 pixels are more than one archive holds (\(count - 1) of this size, 100000000 pixels in all, what decompressing holds in memory): compress them in parts")
        }
    }

    func testOnlyBernoulliMLPModelsAreAccepted() throws {
        XCTAssertThrowsError(try BitsBackCodec(model: VAE(config: VAEConfig(inputShape: [1, 4, 4], latent: 2, hidden: [8], likelihood: .gaussian))))
        XCTAssertThrowsError(try BitsBackCodec(model: VAE(config: VAEConfig(architecture: .conv, inputShape: [1, 8, 8], latent: 2, hidden: [8]))))
        XCTAssertThrowsError(try BitsBackCodec(model: VAE(config: VAEConfig(inputShape: [1, 4, 4], latent: 2, hidden: [8], conditionSize: 3))))
    }
}
