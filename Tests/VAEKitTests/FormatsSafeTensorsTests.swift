import Foundation
import XCTest
@testable import VAEKit

final class FormatsTestsSafeTensors: XCTestCase {
    /// Builds a file by hand: 8-byte length + header text + buffer.
    func file(header: String, buffer: [UInt8]) -> [UInt8] {
        let headerBytes = Array(header.utf8)
        return withUnsafeBytes(of: UInt64(headerBytes.count).littleEndian, Array.init) + headerBytes + buffer
    }

    func floats(_ values: [Float]) -> [UInt8] {
        values.flatMap { withUnsafeBytes(of: $0.bitPattern.littleEndian, Array.init) }
    }

    func testRoundTrip() throws {
        let weights: [Float] = (0..<12).map { Float($0) * 0.5 - 2 }
        let bias: [Float] = [1, -1, .pi]
        let bytes = SafeTensorsFile.serialize(
            tensors: [(name: "encoder.weight", shape: [3, 4], data: weights),
                      (name: "encoder.bias", shape: [3], data: bias),
                      (name: "scalar", shape: [], data: [42]),
                      (name: "empty", shape: [0, 5], data: [])],
            metadata: ["format": "pt", "note": "quote \" backslash \\ newline \n ünïcödé"])
        let headerLength = Int(bytes[0]) | Int(bytes[1]) << 8
        XCTAssertEqual(headerLength % 8, 0, "header is padded to a multiple of 8")
        XCTAssertEqual(bytes.count, 8 + headerLength + 4 * (12 + 3 + 1))
        let parsed = try SafeTensorsFile.parse(bytes)
        XCTAssertEqual(parsed.tensors["encoder.weight"], SafeTensor(shape: [3, 4], data: weights))
        XCTAssertEqual(parsed.tensors["encoder.bias"], SafeTensor(shape: [3], data: bias))
        XCTAssertEqual(parsed.tensors["scalar"], SafeTensor(shape: [], data: [42]))
        XCTAssertEqual(parsed.tensors["empty"], SafeTensor(shape: [0, 5], data: []))
        XCTAssertEqual(parsed.metadata, ["format": "pt", "note": "quote \" backslash \\ newline \n ünïcödé"])
        // Tensor order in the buffer follows the order given.
        XCTAssertEqual(parsed.names.filter { $0 != "empty" }, ["encoder.weight", "encoder.bias", "scalar"])
        // Re-serializing the parsed file gives the same bytes.
        XCTAssertEqual(parsed.serialized(), bytes)
        // The buffer-pointer overload writes the same bytes.
        let again = weights.withUnsafeBufferPointer { w in
            bias.withUnsafeBufferPointer { b in
                SafeTensorsFile.serialize(tensors: [(name: "encoder.weight", shape: [3, 4], data: w),
                                                   (name: "encoder.bias", shape: [3], data: b)])
            }
        }
        XCTAssertEqual(try SafeTensorsFile.parse(again).tensors["encoder.bias"]?.data, bias)
        // No tensors at all.
        XCTAssertEqual(try SafeTensorsFile.parse(SafeTensorsFile.serialize(tensors: [] as [(name: String, shape: [Int], data: [Float])], metadata: [:])).tensors.count, 0)
    }

    func testReadAndWriteFile() throws {
        let dir = try FormatsFixture.makeTempDirectory(self)
        let path = dir + "/model.safetensors"
        try SafeTensorsFile.write(tensors: [(name: "w", shape: [2], data: [1.5, -2.5])], metadata: ["epoch": "3"], to: path)
        let file = try SafeTensorsFile.read(path: path)
        XCTAssertEqual(file.tensors["w"]?.data, [1.5, -2.5])
        XCTAssertEqual(file.metadata["epoch"], "3")
        FormatsFixture.assertVAEError(["cannot read \(dir)/missing.safetensors", "No such file"]) {
            try SafeTensorsFile.read(path: dir + "/missing.safetensors")
        }
    }

    /// Written in pieces (a tensor over 1 Mi values spans several): the bytes `serialize` gives;
    /// a header over the limit writes nothing.
    func testWriteInPiecesIsSerialize() throws {
        let dir = try FormatsFixture.makeTempDirectory(self)
        let big = (0..<(1 << 20) + 5).map { Float($0 % 977) * 0.25 - 3 }, small: [Float] = [1, -2, .infinity, -0.0, 3.5, 7]
        let expected = SafeTensorsFile.serialize(tensors: [("w", [1, big.count], big), ("b", [2, 3], small), ("e", [0], [])],
                                                 metadata: ["format": "x", "config": "{\"a\": 1}"])
        try big.withUnsafeBufferPointer { bp in
            try small.withUnsafeBufferPointer { sp in
                try SafeTensorsFile.write(tensors: [("w", [1, big.count], bp), ("b", [2, 3], sp), ("e", [0], UnsafeBufferPointer(start: nil, count: 0))],
                                          metadata: ["format": "x", "config": "{\"a\": 1}"], to: dir + "/m.safetensors")
                struct TooBig: Error {}
                XCTAssertThrowsError(try SafeTensorsFile.write(tensors: [("b", [2, 3], sp)], to: dir + "/n.safetensors") { _ in throw TooBig() })
            }
        }
        XCTAssertEqual(try AtomicFile.readAll(path: dir + "/m.safetensors", maxBytes: 1 << 30), expected)
        XCTAssertFalse(AtomicFile.exists(dir + "/n.safetensors"))
        XCTAssertEqual(try FileManager.default.contentsOfDirectory(atPath: dir), ["m.safetensors"])
    }

    func testF64IsConvertedAndOtherDtypesNamed() throws {
        let doubles: [UInt8] = [1.25, -3.0].flatMap { (value: Double) in withUnsafeBytes(of: value.bitPattern.littleEndian, Array.init) }
        let f64 = file(header: #"{"d":{"dtype":"F64","shape":[2],"data_offsets":[0,16]}}"#, buffer: doubles)
        XCTAssertEqual(try SafeTensorsFile.parse(f64).tensors["d"]?.data, [1.25, -3.0])
        let f16 = file(header: #"{"X":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}}"#, buffer: [0, 0, 0, 0])
        FormatsFixture.assertVAEError(["tensor \"X\" has dtype F16; SwiftVAE reads F32 only"]) { try SafeTensorsFile.parse(f16) }
        let weird = file(header: #"{"X":{"dtype":"Q4","shape":[2],"data_offsets":[0,4]}}"#, buffer: [0, 0, 0, 0])
        FormatsFixture.assertVAEError(["unknown dtype \"Q4\""]) { try SafeTensorsFile.parse(weird) }
        // PyTorch's integer counter: to be left out, not converted (then refused as a tensor too many)
        let counter = file(header: #"{"bn.num_batches_tracked":{"dtype":"I64","shape":[],"data_offsets":[0,8]}}"#, buffer: [UInt8](repeating: 0, count: 8))
        FormatsFixture.assertVAEError(["\"bn.num_batches_tracked\" has dtype I64: an integer tensor, no weight of a SwiftVAE model — leave it out"]) {
            try SafeTensorsFile.parse(counter)
        }
    }

    func testHostileHeaders() {
        let ok = #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#
        XCTAssertNoThrow(try SafeTensorsFile.parse(file(header: ok, buffer: floats([1, 2]))))
        let cases: [(String, [UInt8], [String])] = [
            ("short file", [1, 2, 3], ["too short"]),
            ("empty file", [], ["too short"]),
            ("header length 2^63", [0, 0, 0, 0, 0, 0, 0, 0x80] + Array(ok.utf8), ["9223372036854775808-byte header", "100 MB"]),
            ("header length 2^64-1", [UInt8](repeating: 0xFF, count: 8) + Array(ok.utf8), ["header", "100 MB"]),
            ("header past end", [100, 0, 0, 0, 0, 0, 0, 0] + Array("{}".utf8), ["truncated"]),
            ("offsets past end", file(header: #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, buffer: floats([1])),
             ["tensor \"a\"", "past the end", "truncated"]),
            ("huge offsets", file(header: #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[9223372036854775800,9223372036854775807]}}"#, buffer: []),
             ["past the end"]),
            ("offsets beyond Int", file(header: #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,99999999999999999999999]}}"#, buffer: []),
             ["not non-negative integers"]),
            ("negative offsets", file(header: #"{"a":{"dtype":"F32","shape":[0],"data_offsets":[-4,-4]}}"#, buffer: []),
             ["not non-negative integers"]),
            ("reversed offsets", file(header: #"{"a":{"dtype":"F32","shape":[0],"data_offsets":[8,4]}}"#, buffer: floats([1, 2])),
             ["end before they begin"]),
            ("overlap", file(header: #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}"#,
                             buffer: floats([1, 2, 3])), ["overlap", "\"a\"", "\"b\""]),
            ("gap", file(header: #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[8,12]}}"#,
                         buffer: floats([1, 2, 3])), ["bytes 4..<8", "no tensor", "gap"]),
            ("unused tail", file(header: ok, buffer: floats([1, 2, 3])), ["last 4 bytes", "unused"]),
            ("element count overflow", file(header: #"{"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}}"#, buffer: floats([1, 2])),
             ["overflows"]),
            ("byte count overflow", file(header: #"{"a":{"dtype":"F32","shape":[4611686018427387904,2],"data_offsets":[0,8]}}"#, buffer: floats([1, 2])),
             ["overflow"]),
            ("bytes overflow at the dtype size", file(header: #"{"a":{"dtype":"F32","shape":[4611686018427387904],"data_offsets":[0,8]}}"#, buffer: floats([1, 2])),
             ["overflow the byte count"]),
            ("negative dim", file(header: #"{"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}"#, buffer: floats([1, 2])), ["negative dimension -2"]),
            ("fractional dim", file(header: #"{"a":{"dtype":"F32","shape":[2.5],"data_offsets":[0,8]}}"#, buffer: floats([1, 2])), ["2.5", "not an integer"]),
            ("length mismatch", file(header: #"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, buffer: floats([1, 2])),
             ["shape [3] of F32 needs 12 bytes", "hold 8 bytes"]),
            ("missing dtype", file(header: #"{"a":{"shape":[2],"data_offsets":[0,8]}}"#, buffer: floats([1, 2])), ["tensor \"a\" has no dtype"]),
            ("missing shape", file(header: #"{"a":{"dtype":"F32","data_offsets":[0,8]}}"#, buffer: floats([1, 2])), ["has no shape"]),
            ("missing offsets", file(header: #"{"a":{"dtype":"F32","shape":[2]}}"#, buffer: floats([1, 2])), ["has no data_offsets"]),
            ("three offsets", file(header: #"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8,8]}}"#, buffer: floats([1, 2])), ["3 entries"]),
            ("entry not an object", file(header: #"{"a":[1,2]}"#, buffer: []), ["tensor \"a\" is an array"]),
            ("bad JSON", file(header: #"{"a":{"dtype":"F32",}}"#, buffer: []), ["not valid JSON"]),
            ("truncated JSON", file(header: #"{"a":{"dtype":"F3"#, buffer: []), ["not valid JSON"]),
            ("not an object", file(header: "[1,2,3]", buffer: []), ["does not start with '{'"]),
            ("garbage after JSON", file(header: "{} x", buffer: []), ["not valid JSON"]),
            ("invalid UTF-8", [4, 0, 0, 0, 0, 0, 0, 0, 0x7B, 0xFF, 0xFE, 0x7D], ["not valid UTF-8"]),
            ("duplicate names", file(header: #"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#,
                                     buffer: floats([1, 2])), ["duplicate key \"a\""]),
            ("metadata not strings", file(header: #"{"__metadata__":{"epoch":3}}"#, buffer: []), ["metadata values must be strings"]),
            ("deep nesting", file(header: "{\"a\":" + String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000) + "}", buffer: []),
             ["nested deeper"]),
        ]
        for (name, bytes, fragments) in cases {
            FormatsFixture.assertVAEError(fragments) {
                do { return try SafeTensorsFile.parse(bytes) } catch let error as VAEError {
                    // Say which case failed if the message is wrong.
                    if !fragments.allSatisfy(error.message.contains) { print("case \(name): \(error.message)") }
                    throw error
                }
            }
        }
    }

    func testHeaderOver100MBIsRefusedEvenIfPresent() {
        var bytes = [UInt8](repeating: 0x20, count: 8 + 100_000_008)
        let length = UInt64(100_000_008)
        for index in 0..<8 { bytes[index] = UInt8(truncatingIfNeeded: length >> (8 * UInt64(index))) }
        FormatsFixture.assertVAEError(["over the 100 MB limit"]) { try SafeTensorsFile.parse(bytes) }
    }

    /// PyTorch's torch.save output under a .safetensors name (a ZIP archive; a pickle before 1.6)
    /// is named as what it is, with the fix — it was "declares a 578712552184433488-byte header".
    func testTorchSaveFilesAreNamed() throws {
        let dir = try FormatsFixture.makeTempDirectory(self)
        let zip: [UInt8] = [0x50, 0x4B, 0x03, 0x04, 0x00, 0x00, 0x08, 0x08] + [UInt8](repeating: 7, count: 200)
        let pickle: [UInt8] = [0x80, 0x02, 0x8A, 0x0A, 0x6C, 0xFC, 0x9C, 0x46] + [UInt8](repeating: 7, count: 200)
        for (bytes, says) in [(zip, "is a ZIP archive — PyTorch's torch.save format, not safetensors: write the state dict with safetensors.torch.save_file"),
                              (pickle, "is a Python pickle — torch.save's format before PyTorch 1.6")] {
            try FormatsFixture.writeFile(bytes, dir + "/model.safetensors")
            FormatsFixture.assertVAEError([says]) { _ = try SafeTensorsFile.read(path: dir + "/model.safetensors") }
            FormatsFixture.assertVAEError([says]) { _ = try SafeTensorsFile.parse(bytes, source: "m") }
        }
    }

    func testRandomCorruptionParsesOrThrowsAVAEError() {
        let valid = SafeTensorsFile.serialize(
            tensors: [(name: "a", shape: [2, 3], data: [1, 2, 3, 4, 5, 6]), (name: "b", shape: [1], data: [7])],
            metadata: ["k": "v"])
        var rejected = 0
        for seed in 0..<3000 {
            var bytes = valid
            let noise = FormatsFixture.bytes(count: 4, seed: UInt64(seed))
            bytes[Int(noise[0]) % bytes.count] = noise[1]
            if seed % 3 == 0 { bytes[Int(noise[2]) % bytes.count] = noise[3] }
            if seed % 5 == 0 { bytes = Array(bytes.prefix(Int(noise[2]) % bytes.count)) }
            if !FormatsFixture.parsesOrRejects("seed \(seed)", { _ = try SafeTensorsFile.parse(bytes) }) { rejected += 1 }
        }
        XCTAssertGreaterThan(rejected, 0)
    }

    func testRandomJSONishHeadersNeverCrash() {
        let alphabet = Array(#"{}[]:,"\ -0123456789.eE+truefalsnul_metadatadtypeshapeF32data_offsetsu00"#.utf8)
        for seed in 0..<3000 {
            let noise = FormatsFixture.bytes(count: 1 + seed % 120, seed: UInt64(seed) &* 7919)
            let header = [UInt8(ascii: "{")] + noise.map { alphabet[Int($0) % alphabet.count] }
            let bytes = withUnsafeBytes(of: UInt64(header.count).littleEndian, Array.init) + header + floats([1, 2])
            XCTAssertThrowsError(try SafeTensorsFile.parse(bytes)) { error in
                XCTAssertTrue(error is VAEError, "\(error)")
            }
        }
    }

    /// An independent reader: Python's standard library parses what SwiftVAE wrote.
    func testPythonReadsWhatWeWrite() throws {
        let python = "/usr/bin/python3"
        guard FileManager.default.isExecutableFile(atPath: python) else { throw XCTSkip("no \(python)") }
        let dir = try FormatsFixture.makeTempDirectory(self)
        let path = dir + "/check.safetensors"
        try SafeTensorsFile.write(tensors: [(name: "enc.w", shape: [2, 3], data: [0.5, -1, 2, 3.25, 1e-8, -7]),
                                            (name: "dec.b", shape: [1], data: [42])],
                                  metadata: ["swiftvae": "1", "dataset": "fashion-mnist"], to: path)
        let script = """
        import json, struct, sys
        data = open(sys.argv[1], "rb").read()
        n, = struct.unpack("<Q", data[:8])
        assert n % 8 == 0, n
        header = json.loads(data[8:8 + n].decode("utf-8"))
        buf = data[8 + n:]
        meta = header.pop("__metadata__")
        assert meta == {"swiftvae": "1", "dataset": "fashion-mnist"}, meta
        assert list(header) == ["enc.w", "dec.b"], list(header)
        def values(name):
            t = header[name]
            assert t["dtype"] == "F32"
            b, e = t["data_offsets"]
            return t["shape"], list(struct.unpack("<%df" % ((e - b) // 4), buf[b:e]))
        shape, w = values("enc.w")
        assert shape == [2, 3] and w[:4] == [0.5, -1.0, 2.0, 3.25] and w[5] == -7.0 and abs(w[4] - 1e-8) < 1e-12, (shape, w)
        assert values("dec.b") == ([1], [42.0])
        assert header["enc.w"]["data_offsets"] == [0, 24] and header["dec.b"]["data_offsets"] == [24, 28]
        assert len(buf) == 28
        print("python ok")
        """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = ["-c", script, path]
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        XCTAssertEqual(process.terminationStatus, 0, output)
        XCTAssertTrue(output.contains("python ok"), output)
    }
}
