import Foundation
import XCTest
import VAEKit

/// Runs the `vae` executable that `swift build` put next to the test bundle.
enum CLI {
    static var binary: String {
        var dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        if let exe = Bundle.main.executableURL { dir = exe.deletingLastPathComponent() }
        for candidate in [dir.path + "/vae", dir.deletingLastPathComponent().path + "/vae"] where FileManager.default.isExecutableFile(atPath: candidate) {
            return candidate
        }
        return dir.path + "/vae"
    }

    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    @discardableResult
    static func run(_ args: [String], env: [String: String] = [:], cwd: String? = nil, file: StaticString = #filePath, line: UInt = #line) throws -> Result {
        let p = try start(args, env: env, cwd: cwd)
        return finish(p)
    }

    static func start(_ args: [String], env: [String: String] = [:], cwd: String? = nil) throws -> (Process, Pipe, Pipe) {
        // `swift test` builds it with the tests: its absence is a failed build, not a skip.
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            throw CLISetupError("the vae executable was not found at \(binary); build it first with swift build")
        }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments = args
        if let cwd { p.currentDirectoryURL = URL(fileURLWithPath: cwd) }
        var e = ProcessInfo.processInfo.environment
        e["VAE_DATA"] = nil
        for (k, v) in env { e[k] = v }
        p.environment = e
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        return (p, out, err)
    }

    /// `line` run by /bin/sh (for a process limit, `ulimit -v N; exec …`, or a redirection):
    /// whether it exited (not killed by a signal), its status, stdout and stderr.
    static func shell(_ line: String) throws -> (exited: Bool, status: Int32, stdout: String, stderr: String) {
        let sh = Process()
        sh.executableURL = URL(fileURLWithPath: "/bin/sh")
        sh.arguments = ["-c", line]
        let out = Pipe(), err = Pipe()
        sh.standardOutput = out
        sh.standardError = err
        try sh.run()
        // both pipes drained at once, so that neither fills while the other is read
        nonisolated(unsafe) var stdoutData = Data()
        let reader = Thread { stdoutData = out.fileHandleForReading.readDataToEndOfFile() }
        reader.start()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        while !reader.isFinished { usleep(1000) }
        sh.waitUntilExit()
        return (sh.terminationReason == .exit, sh.terminationStatus, String(decoding: stdoutData, as: UTF8.self), String(decoding: e, as: UTF8.self))
    }

    /// `line` (a shell command line) in a pseudo-terminal, through util-linux's `script`: what a
    /// terminal shows (stdout and stderr together), and the exit status. Skips without `script`.
    static func inTerminal(_ line: String) throws -> (status: Int32, output: String) {
        guard FileManager.default.isExecutableFile(atPath: "/usr/bin/script") else { throw XCTSkip("util-linux's script is not installed (a pseudo-terminal is needed)") }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/script")
        p.arguments = ["-qec", line, "/dev/null"]
        let out = Pipe()
        p.standardOutput = out
        p.standardInput = FileHandle.nullDevice
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    static func finish(_ h: (Process, Pipe, Pipe)) -> Result {
        let (p, out, err) = h
        // read before waiting so that a full pipe cannot block the child
        let o = out.fileHandleForReading.readDataToEndOfFile()
        let e = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return Result(status: p.terminationStatus, stdout: String(decoding: o, as: UTF8.self), stderr: String(decoding: e, as: UTF8.self))
    }
}

/// A failure while preparing a CLI test (reported as a failure, never as a skip).
struct CLISetupError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A tiny IDX data set (28×28: the repo's Fashion-MNIST sample images; other sides: blobs).
enum TinyData {
    static let root: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()

    static func make(train: Int = 256, test: Int = 64, side: Int = 28) throws -> String {
        let dir = NSTemporaryDirectory() + "vae-cli-data-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        var pixels: [UInt8] = [], labels: [UInt8] = []
        if side == 28 {
            let d = try Dataset.load(directory: root + "/data/fashion-mnist-sample")  // committed
            pixels = Array(d.trainImages.images.prefix((train + test) * 784))
            labels = Array(d.trainImages.labels.prefix(train + test))
        } else {
            for i in 0..<(train + test) {
                for y in 0..<side { for x in 0..<side { pixels.append(UInt8((x * 7 + y * 3 + i * 13) % 256)) } }
                labels.append(UInt8(i % 10))
            }
        }
        let n = side * side
        func write(_ name: String, _ bytes: [UInt8]) throws { try AtomicFile.write(bytes, to: dir + "/" + name) }
        try write("train-images-idx3-ubyte", try IDX.encodeImages(Array(pixels[0..<(train * n)]), count: train, rows: side, cols: side))
        try write("train-labels-idx1-ubyte", IDX.encodeLabels(Array(labels[0..<train])))
        try write("t10k-images-idx3-ubyte.gz", Gzip.compress(try IDX.encodeImages(Array(pixels[(train * n)...]), count: test, rows: side, cols: side)))
        try write("t10k-labels-idx1-ubyte.gz", Gzip.compress(IDX.encodeLabels(Array(labels[train...]))))
        return dir
    }
}

func tempRunDir(_ tag: String) -> String {
    NSTemporaryDirectory() + "vae-cli-\(tag)-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
}
