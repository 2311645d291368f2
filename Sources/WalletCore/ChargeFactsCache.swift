import GRDB
import GatewayCrypto
import GatewayPolicy
import GatewayWire

/// The charge path's facts, kept by the writer between requests (issue 14): links, wallet rows (balance,
/// reservations, flags), the Tokyo day/month charged and reserved totals, each wallet's recent charges with their
/// tokens (SPEC §4 counts them per token and wallet), and the token-moved fact per link; and the SPEC §8 rules'
/// facts: block-list entries, open `wallet.many_accounts` alerts, each wallet's credits in the velocity window, each
/// bank's decision buckets, and each link's keyed token hash.
///
/// Why it is exact: every write goes through the one writer, and only a Charge (`FactsCacheUse.maintains`) runs with
/// the cache on, updating it in `chargeRecorded` with exactly what its SQL changed. Every other write runs with the
/// cache off — reads go to the database — and afterwards drops what it may have changed: a LinkAccount its wallet's
/// and bank's facts (`linkAttempted`), anything else (unlink, operator, hold release, reversal, …) every fact. So does
/// any rollback (a failed batch, a fast attempt replayed isolated, a request's savepoint) and any commit by another
/// connection (`PRAGMA data_version`, checked before each batch). A dropped entry is simply read again: the cache
/// never answers what the database would not.
///
/// Bounded: `maxEntries` per map (beyond it the map is dropped whole and refilled by use), and each wallet's window
/// of charges (`WalletWindows`) by `maxChargesPerWallet` (a wallet with more in its window is read from the
/// database each time) and `maxChargesKept` over all wallets (beyond it every wallet's are dropped and refilled by use).
struct ChargeFactsCache {
    /// Entries per map before it is dropped whole. 65,536.
    static let maxEntries = 65_536
    /// Charges kept per wallet in each window (credits for `wallet.velocity`, recent charges for SPEC §4). 1,024.
    static let maxChargesPerWallet = 1_024
    /// Charges kept over all wallets in each window (credits 16 bytes each: 4 MiB; recent charges 40: 10 MiB).
    /// 262,144.
    static let maxChargesKept = 262_144

    /// The wallet's limit totals for one Tokyo day and month (what `Ledger.chargedTotals` / `reservedTotals` read).
    struct PeriodTotals: Equatable {
        var dayIndex: Int64
        var monthIndex: Int64
        var charged: ChargedTotals
        var reserved: ChargedTotals
    }

    /// A non-declined charge to a wallet, with its link's bank and token (`Ledger.recentChargesToWallet`).
    struct RecentCharge: Equatable {
        var atUnixMs: Int64
        var bankCode: String
        var token: String
    }

    /// A wallet's non-declined charges from `loadedSinceUnixMs` on, oldest first: every token's
    /// `Ledger.recentChargeCount` to the wallet for any later window start. Kept per wallet, not per token, so a
    /// wallet's new link reads nothing (kept per token, each of a wallet's links read the wallet's whole window).
    struct RecentCharges: WalletWindow {
        var loadedSinceUnixMs: Int64
        var entries: [RecentCharge]

        var count: Int { entries.count }
    }

    /// A wallet's approved credits from `loadedSinceUnixMs` on, oldest first, and their sum.
    struct Credits: WalletWindow {
        var loadedSinceUnixMs: Int64
        var entries: [(atUnixMs: Int64, amountYen: Int64)]
        var sumYen: Int64

        var count: Int { entries.count }
    }

    /// A bank's decision buckets starting after `loadedAfterUnixMs`, oldest first.
    struct Decisions {
        var loadedAfterUnixMs: Int64
        var buckets: [(bucketUnixMs: Int64, declines: Int, decisions: Int)]

        /// What `Ledger.decisionWindow` sums for a window starting after `loadedAfterUnixMs`.
        var window: BankDecisionWindow {
            BankDecisionWindow(
                declines: buckets.reduce(0) { $0 + $1.declines }, decisions: buckets.reduce(0) { $0 + $1.decisions })
        }
    }

    struct BlockKey: Hashable {
        var kind: BlockKind
        var lookup: [UInt8]
    }

    private var links: [String: LinkFacts] = [:]
    private var wallets: [String: Ledger.WalletRow] = [:]
    private var totals: [Int64: PeriodTotals] = [:]
    private var recent = WalletWindows<RecentCharges>()
    private var tokenMoved: [String: Bool] = [:]
    private var blocked: [BlockKey: Bool] = [:]
    private var manyAccountsAlertOpen: [String: Bool] = [:]
    private var credits = WalletWindows<Credits>()
    private var decisions: [String: Decisions] = [:]
    private var tokenHashes: [String: [UInt8]] = [:]
    /// Links with a non-declined charge: never again a first charge, so their token-moved answer is final (false).
    private var chargedLinks: Set<String> = []
    /// Facts read from the database (a miss) since `takeReads`.
    private var reads = 0

    mutating func removeAll() {
        links.removeAll(keepingCapacity: true)
        wallets.removeAll(keepingCapacity: true)
        totals.removeAll(keepingCapacity: true)
        recent.removeAll()
        tokenMoved.removeAll(keepingCapacity: true)
        blocked.removeAll(keepingCapacity: true)
        manyAccountsAlertOpen.removeAll(keepingCapacity: true)
        credits.removeAll()
        decisions.removeAll(keepingCapacity: true)
        tokenHashes.removeAll(keepingCapacity: true)
        chargedLinks.removeAll(keepingCapacity: true)
    }

    /// A LinkAccount for `walletID` at `bankCode` was applied, whatever its decision (it ran with the cache off):
    /// drops what such a write can change. Its wallet's row (decline streak, link lock) and open
    /// `wallet.many_accounts` alert; its bank's decision buckets (a link's decision is counted there); and every
    /// token-moved answer not yet final (a new link of a token is another wallet's link of it for a link made in the
    /// same millisecond). A new link has no entry (a missing link is never kept) and no charges, and a link write
    /// changes no other link, total, credit, block-list entry or token: the rest stands.
    mutating func linkAttempted(bankCode: String, walletID: String) {
        wallets[walletID] = nil
        manyAccountsAlertOpen[walletID] = nil
        decisions[bankCode] = nil
        tokenMoved.removeAll(keepingCapacity: true)
    }

    /// Alerts were raised, acknowledged or resolved (and nothing else written): drops the open `wallet.many_accounts`
    /// answers, the only facts read from alerts.
    mutating func alertsChanged() {
        manyAccountsAlertOpen.removeAll(keepingCapacity: true)
    }

    /// Buckets before `olderThanUnixMs` were deleted: drops each bank's kept window that may hold one (a window
    /// keeps the buckets after its `loadedAfterUnixMs`).
    mutating func decisionBucketsPruned(olderThanUnixMs: Int64) {
        decisions = decisions.filter { $0.value.loadedAfterUnixMs >= olderThanUnixMs }
    }

    /// Facts read from the database since the last call.
    mutating func takeReads() -> Int {
        defer { reads = 0 }
        return reads
    }

    private static func bounded<Key, Value>(_ map: inout [Key: Value]) {
        if map.count >= maxEntries { map.removeAll(keepingCapacity: true) }
    }

    private static func bounded<Element>(_ set: inout Set<Element>) {
        if set.count >= maxEntries { set.removeAll(keepingCapacity: true) }
    }

    // MARK: Reads (from the cache, else the database, then kept)

    mutating func link(_ db: Database, id: String) throws -> LinkFacts? {
        if let cached = links[id] { return cached }
        reads += 1
        guard let link = try Ledger.link(db, id: id) else { return nil }
        Self.bounded(&links)
        links[id] = link
        return link
    }

    mutating func wallet(_ db: Database, id: String) throws -> Ledger.WalletRow? {
        if let cached = wallets[id] { return cached }
        reads += 1
        guard let wallet = try Ledger.wallet(db, id: id) else { return nil }
        Self.bounded(&wallets)
        wallets[id] = wallet
        return wallet
    }

    mutating func totals(_ db: Database, walletAccountID: Int64, atUnixMs: Int64) throws -> PeriodTotals {
        let day = TokyoTime.dayIndex(ofUnixMs: atUnixMs)
        let month = TokyoTime.monthIndex(ofUnixMs: atUnixMs)
        if let cached = totals[walletAccountID], cached.dayIndex == day, cached.monthIndex == month { return cached }
        reads += 1
        let read = PeriodTotals(
            dayIndex: day, monthIndex: month,
            charged: try Ledger.chargedTotals(db, walletAccountID: walletAccountID, atUnixMs: atUnixMs),
            reserved: try Ledger.reservedTotals(db, walletAccountID: walletAccountID, atUnixMs: atUnixMs))
        Self.bounded(&totals)
        totals[walletAccountID] = read
        return read
    }

    /// `Ledger.recentChargeCount`, from the link's wallet's recent charges: charges before `sinceUnixMs` leave the
    /// kept window (a later, earlier-starting window reads again).
    mutating func recentChargeCount(_ db: Database, link: LinkFacts, sinceUnixMs: Int64, limit: Int) throws -> Int {
        let onToken = { (charge: RecentCharge) in
            charge.bankCode == link.bankCode && charge.token == link.bankAccountToken
        }
        if var kept = recent.take(walletID: link.walletID), sinceUnixMs >= kept.loadedSinceUnixMs {
            kept.entries.removeFirst(kept.entries.prefix { $0.atUnixMs < sinceUnixMs }.count)
            kept.loadedSinceUnixMs = sinceUnixMs
            let count = kept.entries.count(where: onToken)
            recent.keep(kept, walletID: link.walletID)
            return min(limit, count)
        }
        reads += 1
        let read = try Ledger.recentChargesToWallet(
            db, walletID: link.walletID, sinceUnixMs: sinceUnixMs, limit: Self.maxChargesPerWallet + 1)
        guard read.count <= Self.maxChargesPerWallet else {
            return try Ledger.recentChargeCount(db, link: link, sinceUnixMs: sinceUnixMs, limit: limit)
        }
        recent.keep(RecentCharges(loadedSinceUnixMs: sinceUnixMs, entries: read), walletID: link.walletID)
        return min(limit, read.count(where: onToken))
    }

    mutating func firstChargeAfterTokenMovedWallets(_ db: Database, link: LinkFacts) throws -> Bool {
        if chargedLinks.contains(link.id) { return false }
        if let cached = tokenMoved[link.id] { return cached }
        reads += 1
        let moved = try Ledger.firstChargeAfterTokenMovedWallets(db, link: link)
        Self.bounded(&tokenMoved)
        tokenMoved[link.id] = moved
        return moved
    }

    // MARK: SPEC §8 facts

    /// `Ledger.tokenHash` of the link's bank and token (neither ever changes for a link id).
    mutating func tokenHash(key: KeyedHash.Key, link: LinkFacts) -> [UInt8] {
        if let cached = tokenHashes[link.id] { return cached }
        let hash = Ledger.tokenHash(key: key, bankCode: link.bankCode, token: link.bankAccountToken)
        Self.bounded(&tokenHashes)
        tokenHashes[link.id] = hash
        return hash
    }

    mutating func isBlocked(_ db: Database, kind: BlockKind, lookup: [UInt8]) throws -> Bool {
        let key = BlockKey(kind: kind, lookup: lookup)
        if let cached = blocked[key] { return cached }
        reads += 1
        let read = try Ledger.isBlocked(db, kind: kind, lookup: lookup)
        Self.bounded(&blocked)
        blocked[key] = read
        return read
    }

    /// Whether a `wallet.many_accounts` alert on the wallet is unresolved. A charge never opens or resolves one (its
    /// hold rule only fires again on the open alert), so only other writes change it, and they drop this answer.
    mutating func manyAccountsAlertOpen(_ db: Database, walletID: String) throws -> Bool {
        if let cached = manyAccountsAlertOpen[walletID] { return cached }
        reads += 1
        let read = try Ledger.manyAccountsAlertOpen(db, walletID: walletID)
        Self.bounded(&manyAccountsAlertOpen)
        manyAccountsAlertOpen[walletID] = read
        return read
    }

    /// `Ledger.creditedToWallet`: credits before `sinceUnixMs` leave the kept list (a later, earlier-starting window
    /// reads again).
    mutating func creditedToWallet(_ db: Database, walletID: String, sinceUnixMs: Int64) throws -> Int64 {
        // Taken out while it changes, so its entries are not copied (one owner).
        if var kept = credits.take(walletID: walletID), sinceUnixMs >= kept.loadedSinceUnixMs {
            let gone = kept.entries.prefix { $0.atUnixMs < sinceUnixMs }
            if !gone.isEmpty {
                kept.sumYen -= gone.reduce(0) { $0 + $1.amountYen }
                kept.entries.removeFirst(gone.count)
            }
            kept.loadedSinceUnixMs = sinceUnixMs
            let sum = kept.sumYen
            credits.keep(kept, walletID: walletID)
            return sum
        }
        reads += 1
        let limit = Self.maxChargesPerWallet
        let read = try Ledger.creditsToWallet(db, walletID: walletID, sinceUnixMs: sinceUnixMs, limit: limit + 1)
        guard read.count <= limit else {
            return try Ledger.creditedToWallet(db, walletID: walletID, sinceUnixMs: sinceUnixMs)
        }
        let sum = read.reduce(0) { $0 + $1.amountYen }
        credits.keep(Credits(loadedSinceUnixMs: sinceUnixMs, entries: read, sumYen: sum), walletID: walletID)
        return sum
    }

    /// Counts the decision (in the database, then here) and returns the bank's decisions in buckets starting after
    /// `afterUnixMs`, this one included (`Ledger.countDecision` + `Ledger.decisionWindow`).
    mutating func countDecision(
        _ db: Database, bankCode: String, decision: Decision, nowUnixMs: Int64, afterUnixMs: Int64
    ) throws -> BankDecisionWindow {
        try Ledger.countDecision(db, bankCode: bankCode, decision: decision, nowUnixMs: nowUnixMs)
        guard var kept = decisions[bankCode], afterUnixMs >= kept.loadedAfterUnixMs else {
            reads += 1
            let read = Decisions(
                loadedAfterUnixMs: afterUnixMs,
                buckets: try Ledger.decisionBuckets(db, bankCode: bankCode, afterUnixMs: afterUnixMs))
            Self.bounded(&decisions)
            decisions[bankCode] = read
            return read.window
        }
        let bucket = Ledger.decisionBucket(ofUnixMs: nowUnixMs)
        if bucket > kept.loadedAfterUnixMs {
            let declined = decision == .declined ? 1 : 0
            if let index = kept.buckets.lastIndex(where: { $0.bucketUnixMs <= bucket }),
                kept.buckets[index].bucketUnixMs == bucket
            {
                kept.buckets[index].declines += declined
                kept.buckets[index].decisions += 1
            } else {
                let at = kept.buckets.firstIndex { $0.bucketUnixMs > bucket } ?? kept.buckets.endIndex
                kept.buckets.insert((bucket, declined, 1), at: at)
            }
        }
        kept.buckets.removeAll { $0.bucketUnixMs <= afterUnixMs }
        kept.loadedAfterUnixMs = afterUnixMs
        decisions[bankCode] = kept
        return kept.window
    }

    // MARK: The one write it follows

    /// A charge judged on `attempt` was written as `decision`: the same changes its SQL made (the approved
    /// transfer's balance and charged totals, the hold's reservation, one more non-declined charge on the link).
    mutating func chargeRecorded(_ attempt: ChargeAttempt, decision: Decision) {
        guard decision == .approved || decision == .held, let link = attempt.link,
            let walletID = attempt.wallet?.record.facts.id
        else { return }
        let amount = attempt.facts.request.amountYen
        let now = attempt.facts.nowUnixMs
        if var wallet = wallets[walletID] {
            if decision == .approved { wallet.record.facts.balanceYen += amount }
            if decision == .held { wallet.record.facts.reservedYen += amount }
            wallets[walletID] = wallet
            if var period = totals[wallet.ledgerAccountID], period.dayIndex == TokyoTime.dayIndex(ofUnixMs: now),
                period.monthIndex == TokyoTime.monthIndex(ofUnixMs: now)
            {
                if decision == .approved {
                    period.charged.dayYen += amount
                    period.charged.monthYen += amount
                } else {
                    period.reserved.dayYen += amount
                    period.reserved.monthYen += amount
                }
                totals[wallet.ledgerAccountID] = period
            } else {
                totals[wallet.ledgerAccountID] = nil
            }
        }
        // Both windows are kept oldest first; a charge judged at an earlier moment than the last one kept (callers'
        // clocks) goes in its place. A wallet past `maxChargesPerWallet` is read from the database from now on.
        if var kept = recent.take(walletID: walletID) {
            let at = kept.entries.lastIndex { $0.atUnixMs <= now }.map { $0 + 1 } ?? 0
            let charge = RecentCharge(atUnixMs: now, bankCode: link.bankCode, token: link.bankAccountToken)
            kept.entries.insert(charge, at: at)
            recent.keep(kept, walletID: walletID)
        }
        if decision == .approved, var kept = credits.take(walletID: walletID) {
            let at = kept.entries.lastIndex { $0.atUnixMs <= now }.map { $0 + 1 } ?? 0
            kept.entries.insert((now, amount), at: at)
            kept.sumYen += amount
            credits.keep(kept, walletID: walletID)
        }
        // The link has a non-declined charge now: the next one is not its first, whatever links are made later.
        tokenMoved[link.id] = nil
        Self.bounded(&chargedLinks)
        chargedLinks.insert(link.id)
    }
}

/// What `WalletWindows` keeps per wallet: its charges of one kind from `loadedSinceUnixMs` on.
protocol WalletWindow {
    var loadedSinceUnixMs: Int64 { get }
    /// The charges it holds.
    var count: Int { get }
}

/// One window of charges per wallet, bounded per wallet (`ChargeFactsCache.maxChargesPerWallet`: a wallet with more
/// is not kept, so it is read from the database each time) and over all wallets (`maxEntries` wallets and
/// `maxChargesKept` charges: beyond either, every wallet's are dropped first and refilled by use).
struct WalletWindows<Window: WalletWindow> {
    private var windows: [String: Window] = [:]
    /// The charges of every kept window.
    private var kept = 0

    /// Removes and returns the wallet's window: it is taken out while it changes, so its entries are not copied.
    mutating func take(walletID: String) -> Window? {
        guard let window = windows.removeValue(forKey: walletID) else { return nil }
        kept -= window.count
        assert(kept >= 0, "kept charges are counted exactly")
        return window
    }

    /// Keeps the wallet's window (none is kept for it now), unless it holds more than a wallet may keep.
    mutating func keep(_ window: Window, walletID: String) {
        assert(windows[walletID] == nil, "taken before it is kept again")
        guard window.count <= ChargeFactsCache.maxChargesPerWallet else { return }
        if windows.count >= ChargeFactsCache.maxEntries || kept + window.count > ChargeFactsCache.maxChargesKept {
            removeAll()
        }
        windows[walletID] = window
        kept += window.count
    }

    mutating func removeAll() {
        windows.removeAll(keepingCapacity: true)
        kept = 0
    }
}
