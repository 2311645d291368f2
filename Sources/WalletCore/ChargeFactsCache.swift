import GRDB
import GatewayPolicy
import GatewayWire

/// The charge path's facts, kept by the writer between requests (issue 14): links, wallet rows (balance,
/// reservations, flags), the Tokyo day/month charged and reserved totals, the recent-charge counts per token and
/// wallet, and the token-moved fact per link.
///
/// Why it is exact: every write goes through the one writer, and only a Charge (`LedgerWrite.maintainsFactsCache`)
/// runs with the cache on, updating it in `chargeRecorded` with exactly what its SQL changed. Every other write
/// (link, unlink, operator, hold release, reversal, …) runs with the cache off — reads go to the database — and
/// drops it afterwards, as does any rollback (a failed batch, a fast attempt replayed isolated, a request's
/// savepoint) and any commit by another connection (`PRAGMA data_version`, checked before each batch). A dropped
/// entry is simply read again: the cache never answers what the database would not.
///
/// Bounded: `maxEntries` per map (beyond it the map is dropped whole and refilled by use).
struct ChargeFactsCache {
    /// Entries per map before it is dropped whole. 65,536.
    static let maxEntries = 65_536

    /// The wallet's limit totals for one Tokyo day and month (what `Ledger.chargedTotals` / `reservedTotals` read).
    struct PeriodTotals {
        var dayIndex: Int64
        var monthIndex: Int64
        var charged: ChargedTotals
        var reserved: ChargedTotals
    }

    struct RecentKey: Hashable {
        var bankCode: String
        var token: String
        var walletID: String
    }

    /// The newest non-declined charges' times (at most the counting limit) from `loadedSinceUnixMs` on: enough to
    /// answer `Ledger.recentChargeCount` for any later window start (saturating at the limit).
    struct RecentCharges {
        var loadedSinceUnixMs: Int64
        var limit: Int
        var atUnixMs: [Int64]
    }

    private var links: [String: LinkFacts] = [:]
    private var wallets: [String: Ledger.WalletRow] = [:]
    private var totals: [Int64: PeriodTotals] = [:]
    private var recent: [RecentKey: RecentCharges] = [:]
    private var tokenMoved: [String: Bool] = [:]

    mutating func removeAll() {
        links.removeAll(keepingCapacity: true)
        wallets.removeAll(keepingCapacity: true)
        totals.removeAll(keepingCapacity: true)
        recent.removeAll(keepingCapacity: true)
        tokenMoved.removeAll(keepingCapacity: true)
    }

    private static func bounded<Key, Value>(_ map: inout [Key: Value]) {
        if map.count >= maxEntries { map.removeAll(keepingCapacity: true) }
    }

    // MARK: Reads (from the cache, else the database, then kept)

    mutating func link(_ db: Database, id: String) throws -> LinkFacts? {
        if let cached = links[id] { return cached }
        guard let link = try Ledger.link(db, id: id) else { return nil }
        Self.bounded(&links)
        links[id] = link
        return link
    }

    mutating func wallet(_ db: Database, id: String) throws -> Ledger.WalletRow? {
        if let cached = wallets[id] { return cached }
        guard let wallet = try Ledger.wallet(db, id: id) else { return nil }
        Self.bounded(&wallets)
        wallets[id] = wallet
        return wallet
    }

    mutating func totals(_ db: Database, walletAccountID: Int64, atUnixMs: Int64) throws -> PeriodTotals {
        let day = TokyoTime.dayIndex(ofUnixMs: atUnixMs)
        let month = TokyoTime.monthIndex(ofUnixMs: atUnixMs)
        if let cached = totals[walletAccountID], cached.dayIndex == day, cached.monthIndex == month { return cached }
        let read = PeriodTotals(
            dayIndex: day, monthIndex: month,
            charged: try Ledger.chargedTotals(db, walletAccountID: walletAccountID, atUnixMs: atUnixMs),
            reserved: try Ledger.reservedTotals(db, walletAccountID: walletAccountID, atUnixMs: atUnixMs))
        Self.bounded(&totals)
        totals[walletAccountID] = read
        return read
    }

    mutating func recentChargeCount(_ db: Database, link: LinkFacts, sinceUnixMs: Int64, limit: Int) throws -> Int {
        let key = RecentKey(bankCode: link.bankCode, token: link.bankAccountToken, walletID: link.walletID)
        if let cached = recent[key], cached.limit == limit, sinceUnixMs >= cached.loadedSinceUnixMs {
            return min(limit, cached.atUnixMs.count { $0 >= sinceUnixMs })
        }
        let times = try Ledger.recentChargeTimes(db, link: link, sinceUnixMs: sinceUnixMs, limit: limit)
        Self.bounded(&recent)
        recent[key] = RecentCharges(loadedSinceUnixMs: sinceUnixMs, limit: limit, atUnixMs: times)
        return times.count
    }

    mutating func firstChargeAfterTokenMovedWallets(_ db: Database, link: LinkFacts) throws -> Bool {
        if let cached = tokenMoved[link.id] { return cached }
        let moved = try Ledger.firstChargeAfterTokenMovedWallets(db, link: link)
        Self.bounded(&tokenMoved)
        tokenMoved[link.id] = moved
        return moved
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
        let key = RecentKey(bankCode: link.bankCode, token: link.bankAccountToken, walletID: link.walletID)
        if var charges = recent[key] {
            // Keep the newest `limit` times: the count of those within any later window is the saturated count.
            charges.atUnixMs.append(now)
            if charges.atUnixMs.count > charges.limit {
                charges.atUnixMs.sort(by: >)
                charges.atUnixMs.removeLast(charges.atUnixMs.count - charges.limit)
            }
            recent[key] = charges
        }
        // The link has a non-declined charge now: the next one is not its first.
        if tokenMoved[link.id] != nil { tokenMoved[link.id] = false }
    }
}
