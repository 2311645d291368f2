import Foundation
import GRDB

/// Copies the write-ahead log back into the database file on a thread and connection of its own (issue 14).
///
/// Why: with SQLite's automatic checkpoint, the commit that crosses the threshold copies the whole WAL into the
/// database and fsyncs it on the writer's thread, so every batch queued behind it waits (≈10% of the writer's time
/// under load). Here the writer's connection runs with `wal_autocheckpoint=0` and only tells this thread that it
/// committed, and how long the log now is (`WALLength`); the copy runs beside the next batches.
///
/// PASSIVE checkpoints never block the writer or readers, but SQLite starts the log over only when a batch begins
/// with every frame already copied, and under steady load the next batch always begins before the copy of the
/// last one ends: the log would only grow. So once it reaches `catchUpAtFrames`, this thread copies it at once
/// (without its interval), and then the writer runs the last, short PASSIVE checkpoint itself between two batches
/// (`catchUpIfLogIsLong`: only the frames of the batches committed meanwhile), and the batch after it starts the
/// log over. The writer decides from its own commits, so the bound does not depend on when this thread last ran:
/// - while this thread is inside a checkpoint (two exclude each other) or has not yet copied the long log, the
///   writer tries again at its next batch; at `writerWaitsAtFrames` it waits for a checkpoint in progress and then
///   catches up whatever this thread has copied, so a thread descheduled mid-copy cannot let the log grow further;
/// - from the writer's catch-up to its next commit this thread stays out: a checkpoint meanwhile takes the
///   read-mark locks the restart needs.
///
/// Only a reader can keep the log from starting over: the frames after its snapshot cannot be copied while it
/// reads. The writer's catch-up then stops short, and it tries again after this thread's next checkpoint (at its
/// interval: at most one try per `intervalMs`), so the log starts over soon after the reader has gone and grows
/// meanwhile. Nothing here waits for that reader: a RESTART checkpoint would, but it
/// holds the write lock while it waits, and against a writer that never pauses it does not even get that lock
/// (SQLite's busy handler polls, and the writer takes the lock back between two polls: a test saw it starved for a
/// whole run).
///
/// Durability does not depend on it: a commit is durable once its WAL frames are fsynced (`synchronous=FULL`); a
/// checkpoint only moves committed pages into the main file, and a crash mid-checkpoint is redone from the WAL.
final class LedgerCheckpointer: @unchecked Sendable {
    // @unchecked: `state` and `statistics` are guarded by `condition`'s lock; the connection is used only on this
    // object's thread.

    /// WAL size in frames (4 KiB pages) at which the writer catches up between two batches: 4,096 = 16 MiB.
    /// SQLite's own automatic threshold is 1,000 pages; a longer log means fewer pauses of the writer.
    static let catchUpAtFrames = 4_096
    /// WAL size in frames at which the writer waits for a checkpoint in progress here rather than let the log grow:
    /// 16,384 = 64 MiB. With no reader pinning it, the log is never longer than this plus one batch.
    static let writerWaitsAtFrames = 16_384
    /// The shortest time between two checkpoints here.
    static let intervalMs = 10

    /// What the writer and this thread agree on, under `condition`'s lock.
    private struct State {
        /// The log's length in frames after the writer's newest commit.
        var walFrames = 0
        var commitsSinceCheckpoint = 0
        /// This thread is inside a checkpoint: the writer's own would be refused (`SQLITE_BUSY`).
        var checkpointing = false
        /// The checkpoint in progress here began with the log at `catchUpAtFrames` or more.
        var copyingLongLog = false
        /// A checkpoint here copied the long log since the writer's last catch-up: the writer's is short now.
        var copiedLongLog = false
        /// The writer copied the log through and its next batch starts the log over: this thread stays out until
        /// that batch commits.
        var writerRestartsLog = false
        /// The writer's newest catch-up could not copy the log through (a reader's snapshot still needs its last
        /// frames) or failed: it tries again after the next checkpoint here, which keeps its interval meanwhile.
        var catchUpFailed = false
        var stopped = false
    }

    private let catchUpAtFrames: Int
    private let writerWaitsAtFrames: Int
    /// Tests only: how long this thread stays in each checkpoint after SQLite's call returns, as a thread
    /// descheduled mid-copy would.
    private let lingerMs: Int
    private let connection: DatabaseQueue
    private let condition = NSCondition()
    private var state = State()
    private var statistics = CheckpointStatistics()

    /// Opens its own connection to the (already migrated, WAL-mode) database at `path` and starts the thread.
    /// The thresholds are the defaults above but for tests.
    init(
        path: String, catchUpAtFrames: Int = LedgerCheckpointer.catchUpAtFrames,
        writerWaitsAtFrames: Int = LedgerCheckpointer.writerWaitsAtFrames, lingerMs: Int = 0
    ) throws {
        precondition(0 < catchUpAtFrames && catchUpAtFrames < writerWaitsAtFrames, "catch up before waiting")
        precondition(lingerMs >= 0)
        self.catchUpAtFrames = catchUpAtFrames
        self.writerWaitsAtFrames = writerWaitsAtFrames
        self.lingerMs = lingerMs
        var configuration = Configuration()
        configuration.label = "wallet-checkpointer"
        // PASSIVE checkpoints never call the busy handler; opening waits out another process's recovery of the log.
        configuration.busyMode = .timeout(WalletStore.busyTimeoutSeconds)
        connection = try DatabaseQueue(path: path, configuration: configuration)
        let thread = Thread { [self] in run() }
        thread.name = "wallet-checkpointer"
        thread.start()
    }

    /// The writer committed a batch that left the log `walFrames` long (nil: it wrote no frame). Cheap: a lock and,
    /// when this thread waits for it, a wake-up, on the writer's thread.
    func committed(walFrames: Int?) {
        condition.withLock {
            if let walFrames {
                if walFrames < state.walFrames { statistics.logRestarts += 1 }
                state.walFrames = walFrames
                statistics.largestWALFrames = max(statistics.largestWALFrames, walFrames)
            }
            let wasRestarting = state.writerRestartsLog
            state.writerRestartsLog = false
            state.commitsSinceCheckpoint += 1
            if state.commitsSinceCheckpoint == 1 || wasRestarting || logAwaitsCopy { condition.broadcast() }
        }
    }

    /// On the writer's thread, between two batches (outside any transaction): when the log is long, copies its
    /// last frames so that the next batch starts it over.
    func catchUpIfLogIsLong(_ db: Database) {
        let due: Bool = condition.withLock {
            guard state.walFrames >= catchUpAtFrames, !state.catchUpFailed, !state.stopped else { return false }
            if state.walFrames < writerWaitsAtFrames {
                // A later batch catches up, once this thread has copied the bulk of the log.
                guard !state.checkpointing && state.copiedLongLog else { return false }
            } else if state.checkpointing {
                statistics.writerWaits += 1
                while state.checkpointing { condition.wait() }
            }
            state.writerRestartsLog = true
            state.copiedLongLog = false
            return true
        }
        guard due else { return }
        let log = Result { try db.checkpoint(.passive) }
        condition.withLock {
            switch log {
            case .success(let log) where log.walFrameCount == log.checkpointedFrameCount:
                statistics.writerCatchUps += 1
                return
            case .success:
                statistics.catchUpsPinnedByAReader += 1
            case .failure(let error):
                statistics.count(error)
            }
            state.writerRestartsLog = false
            state.catchUpFailed = true
            condition.broadcast()
        }
    }

    /// Ends the thread after a last checkpoint of what was committed. Idempotent.
    func stop() {
        condition.withLock {
            state.stopped = true
            condition.broadcast()
        }
    }

    func currentStatistics() -> CheckpointStatistics {
        condition.withLock {
            var current = statistics
            current.walFrames = state.walFrames
            return current
        }
    }

    /// The log is long and no checkpoint here has copied it since the writer's last catch-up (under the lock).
    private var logAwaitsCopy: Bool {
        state.walFrames >= catchUpAtFrames && !state.copiedLongLog && !state.catchUpFailed
    }

    /// One PASSIVE checkpoint per `intervalMs` at most, while the writer commits; none from the writer's catch-up
    /// to its next commit.
    private func run() {
        while true {
            let stopping: Bool? = condition.withLock {
                while !state.stopped && (state.commitsSinceCheckpoint == 0 || state.writerRestartsLog) {
                    condition.wait()
                }
                if state.commitsSinceCheckpoint == 0 { return nil }
                state.commitsSinceCheckpoint = 0
                state.checkpointing = true
                state.copyingLongLog = state.walFrames >= catchUpAtFrames
                return state.stopped
            }
            guard let stopping else { return }
            let log = Result { try connection.writeWithoutTransaction { db in try db.checkpoint(.passive) } }
            if lingerMs > 0 { Thread.sleep(forTimeInterval: Double(lingerMs) / 1_000) }
            condition.withLock {
                state.checkpointing = false
                state.catchUpFailed = false
                switch log {
                case .success:
                    statistics.passiveCheckpoints += 1
                    if state.copyingLongLog { state.copiedLongLog = true }
                case .failure(let error):
                    // The log stays as it is and the next commit tries again.
                    statistics.count(error)
                }
                condition.broadcast()
            }
            if stopping { return }
            // Fewer, larger copies: each checkpoint ends with an fsync of the database file. Commits meanwhile wake
            // this thread only to wait again, unless the log has become long.
            let next = Date(timeIntervalSinceNow: Double(Self.intervalMs) / 1_000)
            condition.withLock {
                while !state.stopped && !logAwaitsCopy && Date() < next { _ = condition.wait(until: next) }
            }
        }
    }
}

/// What the checkpointer has done since the store opened (for the benchmark: is the log staying bounded).
public struct CheckpointStatistics: Sendable, Hashable {
    public var passiveCheckpoints = 0
    /// Checkpoints answered `SQLITE_BUSY`: a lock they need was held at that instant (tests see it when a commit is
    /// writing the log's index as the checkpoint reads it; SQLite does not retry that read for a checkpoint). The
    /// next one copies what this one did not.
    public var busyCheckpoints = 0
    /// Checkpoints that failed otherwise (I/O).
    public var failedCheckpoints = 0
    /// Writer catch-ups that could not copy the log through: a reader's snapshot still needed its last frames.
    public var catchUpsPinnedByAReader = 0
    /// Catch-ups the writer ran between two batches (each one lets the log start over).
    public var writerCatchUps = 0
    /// Times the writer waited for a checkpoint in progress here before its catch-up (the log at `writerWaitsAtFrames`).
    public var writerWaits = 0
    /// Commits that started the log over (it was shorter after them than before).
    public var logRestarts = 0
    /// The log's size in frames (pages) after the writer's newest commit, and the largest seen.
    public var walFrames = 0
    public var largestWALFrames = 0

    mutating func count(_ failure: any Error) {
        if (failure as? DatabaseError)?.resultCode == .SQLITE_BUSY {
            busyCheckpoints += 1
        } else {
            failedCheckpoints += 1
        }
    }
}
