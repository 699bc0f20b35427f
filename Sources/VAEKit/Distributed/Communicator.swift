#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation
import CVAEKernels

/// This process's place in an Open MPI job (`mpirun -np N vae train …`): its rank, the number
/// of ranks, and the few collectives data-parallel training needs. Open MPI is loaded at run
/// time (Sources/CVAEKernels/mpi.c); only bytes move through it, every sum is ours.
///
/// Every wait polls (`MPI_Test`), so a failed peer surfaces as a `VAEError` naming the rank
/// and the operation instead of a hang.
public final class Communicator {
    public let rank: Int
    public let size: Int
    public var isLeader: Bool { rank == 0 }

    /// The Debian packages that provide Open MPI.
    public static let packageHint = "apt-get install openmpi-bin, which brings Debian's libopenmpi3"

    /// Set by the environment `mpirun` gives its processes.
    public static var launchedByMPI: Bool {
        let env = ProcessInfo.processInfo.environment
        return env["OMPI_COMM_WORLD_SIZE"] != nil || env["PMIX_RANK"] != nil
    }

    /// This process's rank as mpirun's environment gives it, before (or without) joining the job;
    /// nil when mpirun did not start it.
    public static var launchedRank: Int? {
        let env = ProcessInfo.processInfo.environment
        guard launchedByMPI else { return nil }
        return (env["OMPI_COMM_WORLD_RANK"] ?? env["PMIX_RANK"]).flatMap { Int($0) }
    }

    /// The job's number of processes as mpirun's environment gives it; nil when mpirun did not start
    /// this one.
    public static var launchedSize: Int? {
        guard launchedByMPI else { return nil }
        return ProcessInfo.processInfo.environment["OMPI_COMM_WORLD_SIZE"].flatMap { Int($0) }
    }

    /// Whether libmpi could be loaded (for `vae info`), and what it is.
    public static var libraryDescription: String? {
        vk_mpi_load(nil) == 0 ? String(cString: vk_mpi_library_version()) : nil
    }

    public static var loadError: String { String(cString: vk_mpi_load_error()) }

    /// Joins the job when this process was started by `mpirun`; nil when it runs alone.
    public static func joinIfLaunched() throws -> Communicator? {
        guard launchedByMPI else { return nil }
        let size = ProcessInfo.processInfo.environment["OMPI_COMM_WORLD_SIZE"] ?? "?"
        guard vk_mpi_load(nil) == 0 else {
            throw VAEError("this process was started by mpirun (OMPI_COMM_WORLD_SIZE=\(size)) but Open MPI's library could not be loaded (\(loadError)); \(packageHint), or set VAE_MPI_LIB to its libmpi.so")
        }
        var r: Int32 = 0, s: Int32 = 0
        let rc = vk_mpi_init(&r, &s)
        guard rc == 0 else { throw VAEError("MPI_Init failed: \(String(cString: vk_mpi_error_string(rc)))") }
        return Communicator(rank: Int(r), size: Int(s))
    }

    private init(rank: Int, size: Int) {
        self.rank = rank
        self.size = size
    }

    /// A new communicator handle: collectives on different handles may be in flight at once.
    public func duplicate() throws -> Int32 {
        var c: Int32 = 0
        try check(vk_mpi_comm_dup(&c), "MPI_Comm_dup")
        return c
    }

    public func finalize() { _ = vk_mpi_finalize() }

    /// Ends every rank of the job (after a one-line error on this rank); never returns.
    public func abort(code: Int32) -> Never {
        vk_mpi_abort(code)
        fatalError("unreachable")
    }

    // MARK: non-blocking collectives (bytes)

    /// An operation in flight.
    public final class Request {
        var handle: UnsafeMutableRawPointer?
        let what: String
        public fileprivate(set) var isDone = false
        init(_ what: String) { self.what = what }
    }

    public func allgather(_ send: UnsafeRawPointer, bytes: Int, into recv: UnsafeMutableRawPointer, comm: Int32 = 0) throws -> Request {
        let r = Request("all-gather")
        try check(vk_mpi_iallgather(send, try int32(bytes), recv, comm, &r.handle), r.what)
        return r
    }

    /// Sends `bytesPerRank` bytes of `send` to every rank (block j to rank j); block i of
    /// `recv` comes from rank i.
    public func alltoall(_ send: UnsafeRawPointer, bytesPerRank: Int, into recv: UnsafeMutableRawPointer, comm: Int32 = 0) throws -> Request {
        let r = Request("all-to-all")
        try check(vk_mpi_ialltoall(send, try int32(bytesPerRank), recv, comm, &r.handle), r.what)
        return r
    }

    public func broadcast(_ buf: UnsafeMutableRawPointer, bytes: Int, root: Int = 0, comm: Int32 = 0) throws -> Request {
        let r = Request("broadcast")
        try check(vk_mpi_ibcast(buf, try int32(bytes), Int32(root), comm, &r.handle), r.what)
        return r
    }

    /// Completes `r` if it can without waiting; true when done.
    @discardableResult
    public func test(_ r: Request) throws -> Bool {
        if r.isDone { return true }
        var done: Int32 = 0
        try check(vk_mpi_test(&r.handle, &done), r.what)
        if done != 0 { r.isDone = true }
        return r.isDone
    }

    /// Polls until `r` completes.
    public func wait(_ r: Request) throws {
        try Communicator.poll { try test(r) }
    }

    /// Calls `done` until it returns true: for 20 ms with only `sched_yield` between calls
    /// (a sleep would hand the core to another process for a whole time slice, several ms,
    /// at every message of a step), then with 100 µs sleeps, for a peer that is slow.
    static func poll(_ done: () throws -> Bool) throws {
        let start = monotonicSeconds()
        var n = 0
        while try !done() {
            n += 1
            if n & 63 == 0 && monotonicSeconds() - start > 0.02 { usleep(100) } else { sched_yield() }
        }
    }

    // MARK: blocking helpers

    public func barrier() throws {
        let r = Request("barrier")
        try check(vk_mpi_ibarrier(0, &r.handle), r.what)
        try wait(r)
    }

    /// Every rank's `values`, in rank order (rank 0's first).
    public func allgather<T: BitwiseCopyable>(_ values: [T]) throws -> [[T]] {
        var out = [T](unsafeUninitializedCapacity: values.count * size) { _, n in n = values.count * size }
        let bytes = values.count * MemoryLayout<T>.stride
        try values.withUnsafeBytes { s in
            try out.withUnsafeMutableBytes { d in
                try wait(allgather(s.baseAddress!, bytes: bytes, into: d.baseAddress!))
            }
        }
        return (0..<size).map { Array(out[($0 * values.count)..<(($0 + 1) * values.count)]) }
    }

    /// Rank `root`'s bytes on every rank.
    public func broadcast(_ bytes: inout [UInt8], root: Int = 0) throws {
        var n = [UInt64(bytes.count)]
        try n.withUnsafeMutableBytes { try wait(broadcast($0.baseAddress!, bytes: 8, root: root)) }
        if Int(n[0]) != bytes.count { bytes = [UInt8](repeating: 0, count: Int(n[0])) }
        if bytes.isEmpty { return }
        try bytes.withUnsafeMutableBytes { try wait(broadcast($0.baseAddress!, bytes: $0.count, root: root)) }
    }

    private func int32(_ n: Int) throws -> Int32 {
        guard n >= 0 && n <= Int(Int32.max) else { throw VAEError("an MPI message of \(n) bytes is larger than MPI's 2 GiB limit; use a smaller --bucket-kb") }
        return Int32(n)
    }

    private func check(_ rc: Int32, _ what: String) throws {
        guard rc != 0 else { return }
        throw VAEError("rank \(rank) of \(size): MPI \(what) failed (\(String(cString: vk_mpi_error_string(rc)))); another rank has probably ended — the job stops, the last checkpoint is kept (continue with --resume)")
    }
}
