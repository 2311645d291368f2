import Foundation
import GRDB

/// Copies the write-ahead log back into the database file on a thread and connection of its own (issue 14).
///
/// Why: with SQLite's automatic checkpoint, the commit that crosses the threshold copies the whole WAL into the
/// database and fsyncs it on the writer's thread, so every batch queued behind it waits (≈10% of the writer's time
/// under load). Here the writer's connection runs with `wal_autocheckpoint=0` and only tells this thread that it
/// committed; the copy runs beside the next batches.
///
/// PASSIVE checkpoints never block the writer or readers, but SQLite starts the log over only when a batch begins
/// with every frame already copied, and under steady load the next batch always begins before the copy of the
/// last one ends: the log would only grow. So once it is past `catchUpAtFrames`, the writer runs the last, short
/// PASSIVE checkpoint itself between two batches (`catchUpIfLogIsLong`: only the frames of the batch or two since
/// this thread's copy), and the batch after it starts the log over. Should a long reader pin old frames so that
/// even that fails, a log past `restartAtFrames` is checkpointed here with RESTART, which waits for the reader and
/// the writer's batch in progress: the WAL stays bounded whatever the load.
///
/// Durability does not depend on it: a commit is durable once its WAL frames are fsynced (`synchronous=FULL`); a
/// checkpoint only moves committed pages into the main file, and a crash mid-checkpoint is redone from the WAL.
final class LedgerCheckpointer: @unchecked Sendable {
    // @unchecked: `commitsSinceCheckpoint`, `stopped` and `statistics` are guarded by `condition`'s lock; the
    // connection is used only on this object's thread.

    /// WAL size in frames (4 KiB pages) past which the writer catches up between two batches: 4,096 = 16 MiB.
    /// SQLite's own automatic threshold is 1,000 pages; a longer log means fewer pauses of the writer.
    static let catchUpAtFrames = 4_096
    /// WAL size in frames past which a checkpoint here waits for readers and the writer: 16,384 = 64 MiB.
    static let restartAtFrames = 16_384
    /// The shortest time between two checkpoints here.
    static let intervalMs = 10

    private let catchUpAtFrames: Int
    private let restartAtFrames: Int
    private let connection: DatabaseQueue
    private let condition = NSCondition()
    private var commitsSinceCheckpoint = 0
    private var stopped = false
    /// The newest checkpoint here left a log of at least `catchUpAtFrames`; cleared by the writer's catch-up.
    private var logIsLong = false
    private var statistics = CheckpointStatistics()

    /// Opens its own connection to the (already migrated, WAL-mode) database at `path` and starts the thread.
    /// The thresholds are the defaults above but for tests.
    init(
        path: String, catchUpAtFrames: Int = LedgerCheckpointer.catchUpAtFrames,
        restartAtFrames: Int = LedgerCheckpointer.restartAtFrames
    ) throws {
        precondition(0 < catchUpAtFrames && catchUpAtFrames < restartAtFrames, "catch up before restarting")
        self.catchUpAtFrames = catchUpAtFrames
        self.restartAtFrames = restartAtFrames
        var configuration = Configuration()
        configuration.label = "wallet-checkpointer"
        // A RESTART checkpoint waits for the writer's batch in progress (a few milliseconds) through this handler.
        configuration.busyMode = .timeout(WalletStore.busyTimeoutSeconds)
        connection = try DatabaseQueue(path: path, configuration: configuration)
        let thread = Thread { [self] in run() }
        thread.name = "wallet-checkpointer"
        thread.start()
    }

    /// The writer committed a batch (cheap: a lock and a signal, on the writer's thread).
    func committed() {
        condition.withLock {
            commitsSinceCheckpoint += 1
            if commitsSinceCheckpoint == 1 { condition.signal() }
        }
    }

    /// On the writer's thread, between two batches (outside any transaction): when the log is long, copies its
    /// last frames so that the next batch starts it over. This thread leaves the checkpoint to the writer meanwhile
    /// (two checkpoints exclude each other); should it fail (a reader pins old frames), this thread goes on, and
    /// RESTART bounds the log.
    func catchUpIfLogIsLong(_ db: Database) {
        guard condition.withLock({ logIsLong }) else { return }
        let caughtUp = (try? db.checkpoint(.passive)).map { $0.walFrameCount == $0.checkpointedFrameCount } ?? false
        condition.withLock {
            logIsLong = false
            if caughtUp { statistics.writerCatchUps += 1 } else { statistics.failedCheckpoints += 1 }
            condition.signal()
        }
    }

    /// Ends the thread after a last checkpoint of what was committed. Idempotent.
    func stop() {
        condition.withLock {
            stopped = true
            condition.signal()
        }
    }

    func currentStatistics() -> CheckpointStatistics { condition.withLock { statistics } }

    /// One PASSIVE checkpoint per `intervalMs` at most, while the writer commits; none while the writer's catch-up
    /// is due.
    private func run() {
        while true {
            let stopping: Bool? = condition.withLock {
                while (commitsSinceCheckpoint == 0 || logIsLong) && !stopped { condition.wait() }
                if commitsSinceCheckpoint == 0 { return nil }
                commitsSinceCheckpoint = 0
                return stopped
            }
            guard let stopping else { return }
            let walFrames = currentStatistics().walFrames
            let mode: Database.CheckpointMode = walFrames >= restartAtFrames ? .restart : .passive
            let outcome: Result<Int, any Error> = Result {
                try connection.writeWithoutTransaction { db in try db.checkpoint(mode).walFrameCount }
            }
            condition.withLock {
                switch outcome {
                case .success(let frames):
                    logIsLong = frames >= catchUpAtFrames && !stopping
                    if mode == .restart {
                        statistics.restartCheckpoints += 1
                    } else {
                        statistics.passiveCheckpoints += 1
                    }
                    statistics.walFrames = frames
                    statistics.largestWALFrames = max(statistics.largestWALFrames, frames)
                case .failure:
                    // Busy past the timeout, or I/O: the log stays as it is and the next commit tries again.
                    statistics.failedCheckpoints += 1
                }
            }
            if stopping { return }
            // Fewer, larger copies: each checkpoint ends with an fsync of the database file.
            _ = condition.withLock { condition.wait(until: Date(timeIntervalSinceNow: Double(Self.intervalMs) / 1000)) }
        }
    }
}

/// What the checkpointer has done since the store opened (for the benchmark: is the log staying bounded).
public struct CheckpointStatistics: Sendable, Hashable {
    public var passiveCheckpoints = 0
    public var restartCheckpoints = 0
    public var failedCheckpoints = 0
    /// Catch-ups the writer ran between two batches (each one lets the log start over).
    public var writerCatchUps = 0
    /// The log's size in frames (pages) after the newest checkpoint, and the largest seen.
    public var walFrames = 0
    public var largestWALFrames = 0
}
