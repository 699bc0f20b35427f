#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import VAECore

/// Sums the model's gradient buffer over the ranks, bit-identically on every rank and from run
/// to run, while the backward still runs (as PyTorch DDP does, but in a fixed order).
///
/// The buffer is cut into buckets of whole parameters, in the order the backward finishes them
/// (the last layer's first). A bucket whose parameters are all final is reduced in two
/// non-blocking steps, a reduce-scatter and an all-gather, each moving (N−1)/N of the bucket per
/// rank as a ring all-reduce does:
///   1. all-to-all: rank j receives every rank's chunk j (chunks of ⌈count/N⌉, zero-padded);
///      then sums them itself in rank order 0, 1, …, N−1 — a fixed order, not MPI's;
///   2. all-gather of the summed chunks, copied back into the gradient buffer.
/// Every rank starts the all-to-alls in bucket order on one communicator and the all-gathers
/// in bucket order on another, so the collectives match on every rank whatever the timing.
final class GradientReducer {
    struct Bucket {
        var lo: Int, hi: Int           // element range of the gradient buffer
        var chunk: Int                 // ⌈(hi − lo) / N⌉
        var params: Set<ObjectIdentifier>
        var send: Buffer, recv: Buffer, gathered: Buffer
        var pending = 0                // parameters not yet final in this step
        var scatter: Communicator.Request?
        var gather: Communicator.Request?
        var done = false
    }

    let comm: Communicator
    let store: ParameterStore
    let overlap: Bool
    private var buckets: [Bucket] = []
    private var owner: [ObjectIdentifier: Int] = [:]
    private let scatterComm: Int32, gatherComm: Int32
    private var nextScatter = 0, nextGather = 0
    private var active = false
    /// Seconds spent waiting for the reduction after the backward ended (per run).
    private(set) var waitSeconds = 0.0
    /// Gradient values summed over the ranks before the backward ended, and all of them (per run).
    private(set) var reducedDuringBackward = 0, reducedTotal = 0
    /// Buckets whose reduction started before the backward ended, and all of them (per run).
    private(set) var startedDuringBackward = 0, startedTotal = 0

    init(comm: Communicator, store: ParameterStore, bucketBytes: Int, overlap: Bool) throws {
        self.comm = comm
        self.store = store
        self.overlap = overlap
        scatterComm = try comm.duplicate()
        gatherComm = try comm.duplicate()
        let n = comm.size
        let base = store.grads.pointer
        var group: [Parameter] = []
        func close() {
            guard !group.isEmpty else { return }
            let offs = group.map { $0.grad.pointer - base }
            let lo = offs.min()!, hi = zip(offs, group).map { $0 + $1.count }.max()!
            let chunk = (hi - lo + n - 1) / n
            let b = Bucket(lo: lo, hi: hi, chunk: chunk, params: Set(group.map { ObjectIdentifier($0) }),
                           send: Buffer(count: chunk * n), recv: Buffer(count: chunk * n), gathered: Buffer(count: chunk * n))
            for p in group { owner[ObjectIdentifier(p)] = buckets.count }
            buckets.append(b)
            group = []
        }
        var bytes = 0
        for p in store.parameters.reversed() {
            group.append(p)
            bytes += p.count * 4
            if bytes >= bucketBytes { close(); bytes = 0 }
        }
        close()
    }

    var bucketCount: Int { buckets.count }

    /// Call after zeroing the gradients, before the backward.
    func begin() {
        for i in buckets.indices {
            buckets[i].pending = buckets[i].params.count
            buckets[i].scatter = nil
            buckets[i].gather = nil
            buckets[i].done = false
        }
        nextScatter = 0
        nextGather = 0
        active = true
    }

    /// An MPI failure during the backward, thrown by `finish`.
    private var failure: Error?

    /// The backward has finished these parameters' gradients (called after each layer).
    func ready(_ params: [Parameter]) {
        guard active, failure == nil else { return }
        for p in params {
            if let b = owner[ObjectIdentifier(p)] { buckets[b].pending -= 1 }
        }
        guard overlap else { return }
        do {
            try startReady()
            try poll()
        } catch {
            failure = error
        }
    }

    /// Completes the reduction (starting what the backward did not) and waits for it.
    func finish() throws {
        guard active else { return }
        active = false
        if let failure { self.failure = nil; throw failure }
        try poll()
        for b in buckets {
            if b.done { reducedDuringBackward += b.hi - b.lo }
            reducedTotal += b.hi - b.lo
        }
        startedDuringBackward += nextScatter
        startedTotal += buckets.count
        for i in buckets.indices { buckets[i].pending = 0 }
        try startReady()
        let t0 = monotonicSeconds()
        try Communicator.poll { try poll() }
        waitSeconds += monotonicSeconds() - t0
    }

    /// Starts, in bucket order, the all-to-alls of buckets whose parameters are all final.
    private func startReady() throws {
        while nextScatter < buckets.count && buckets[nextScatter].pending == 0 {
            let i = nextScatter
            let b = buckets[i], count = b.hi - b.lo
            // send = gradients[lo..<hi] then zeros up to N·chunk
            b.send.pointer.update(from: store.grads.pointer + b.lo, count: count)
            (b.send.pointer + count).update(repeating: 0, count: b.chunk * comm.size - count)
            buckets[i].scatter = try comm.alltoall(b.send.pointer, bytesPerRank: b.chunk * 4, into: b.recv.pointer, comm: scatterComm)
            nextScatter += 1
        }
    }

    /// Drives the buckets in flight; true when every bucket is done.
    @discardableResult
    private func poll() throws -> Bool {
        // phase 2 starts in bucket order: bucket i only after bucket i−1's all-gather started
        while nextGather < nextScatter, let s = buckets[nextGather].scatter, try comm.test(s) {
            let b = buckets[nextGather], n = comm.size, c = b.chunk
            let r = b.recv.pointer, mine = b.send.pointer   // the send buffer is free again
            // mine[i] = Σ_{rank 0…N−1} recv[rank·c + i], summed in rank order
            for i in 0..<c {
                var s = r[i]
                for k in 1..<max(n, 1) { s += r[k * c + i] }
                mine[i] = s
            }
            buckets[nextGather].gather = try comm.allgather(mine, bytes: c * 4, into: b.gathered.pointer, comm: gatherComm)
            nextGather += 1
        }
        var all = true
        for i in 0..<nextGather where !buckets[i].done {
            let b = buckets[i]
            if try comm.test(b.gather!) {
                store.grads.pointer.advanced(by: b.lo).update(from: b.gathered.pointer, count: b.hi - b.lo)
                buckets[i].done = true
            } else {
                all = false
            }
        }
        return all && nextGather == buckets.count
    }
}

/// Seconds on a monotonic clock.
func monotonicSeconds() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_MONOTONIC, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
}
