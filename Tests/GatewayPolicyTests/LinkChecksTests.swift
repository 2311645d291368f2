import GatewayPolicy
import GatewayWire
import XCTest

final class LinkChecksTests: XCTestCase {
    private let checks = LinkChecks.standard

    func testGoodLinkIsApproved() {
        XCTAssertEqual(checks.evaluate(Fixture.link()), .approve)
    }

    func testStandardChainRunsTheRulesInSpecOrder() {
        XCTAssertEqual(
            checks.rules.map(\.name),
            [
                "link.bank_enabled", "link.wallet_exists", "link.wallet_not_locked", "link.wallet_ekyc_verified",
                "link.wallet_ekyc_method_accepted", "link.wallet_phone_verified", "link.link_code_valid",
                "link.customer_auth_strong", "link.name_match", "link.account_link_limit",
            ])
    }

    // MARK: Bank enabled

    func testLinkIsRejectedWhenBankIsSuspendedAndMessageNamesTheState() {
        let verdict = checks.evaluate(Fixture.link(bank: Fixture.bank0009))
        XCTAssertEqual(verdict.rejection?.code, .permissionDenied)
        XCTAssertEqual(verdict.rejection?.message, "bank 0009 is SUSPENDED for link")
    }

    func testLinkIsRejectedWhenBankStateIsUnset() {
        let bank = BankFacts(code: "0123", linkState: .unspecified, chargeState: .enabled)
        XCTAssertEqual(checks.evaluate(Fixture.link(bank: bank)).rejection?.code, .permissionDenied)
    }

    func testPendingBankMayLinkTestWallets() {
        XCTAssertEqual(checks.evaluate(Fixture.link(bank: Fixture.bank0005, wallet: Fixture.testWallet)), .approve)
    }

    func testPendingBankIsRejectedForARealWalletAndMessageNamesPending() {
        let verdict = checks.evaluate(Fixture.link(bank: Fixture.bank0005, wallet: Fixture.w1))
        XCTAssertEqual(verdict.rejection?.code, .permissionDenied)
        XCTAssertTrue(verdict.rejection?.message.contains("PENDING") ?? false, "\(verdict)")
        XCTAssertTrue(verdict.rejection?.message.contains("0005") ?? false, "\(verdict)")
    }

    func testPendingBankCannotTellAnUnknownWalletFromARealOne() {
        let unknown = checks.evaluate(Fixture.link(bank: Fixture.bank0005, wallet: nil))
        let real = checks.evaluate(Fixture.link(bank: Fixture.bank0005, wallet: Fixture.w1))
        XCTAssertEqual(unknown, real)
    }

    func testPilotBankMayLinkAWalletOnItsPilotList() {
        var facts = Fixture.link(bank: Fixture.bank0001, wallet: Fixture.w2, holder: "ｽｽﾞｷ ｲﾁﾛｳ")
        XCTAssertEqual(checks.evaluate(facts), .approve)
        facts.bank.pilotWalletIDs = []
        XCTAssertEqual(checks.evaluate(facts), .decline(.notInPilot, rule: "link.bank_enabled"))
    }

    func testPilotBankLinkIsDeclinedNotInPilotForAWalletOffTheList() {
        XCTAssertEqual(
            checks.evaluate(Fixture.link(bank: Fixture.bank0001, wallet: Fixture.w1)),
            .decline(.notInPilot, rule: "link.bank_enabled"))
    }

    func testBankStateForChargeDoesNotEnableLinking() {
        let bank = BankFacts(code: "0123", linkState: .suspended, chargeState: .enabled)
        XCTAssertEqual(checks.evaluate(Fixture.link(bank: bank)).rejection?.message, "bank 0123 is SUSPENDED for link")
    }

    // MARK: Wallet

    func testLinkIsDeclinedWhenWalletDoesNotExist() {
        XCTAssertEqual(
            checks.evaluate(Fixture.link(wallet: nil)), .decline(.walletNotFound, rule: "link.wallet_exists"))
    }

    func testLinkIsDeclinedFraudSuspectedWhenWalletIsLockedForLinking() {
        var wallet = Fixture.w1
        wallet.linkLocked = true
        XCTAssertEqual(
            checks.evaluate(Fixture.link(wallet: wallet)), .decline(.fraudSuspected, rule: "link.wallet_not_locked"))
    }

    func testLinkIsDeclinedWhenEkycIsNotVerified() {
        for status in [EkycStatus.unspecified, .none, .submitted, .rejected] {
            var wallet = Fixture.w1
            wallet.ekycStatus = status
            XCTAssertEqual(
                checks.evaluate(Fixture.link(wallet: wallet)),
                .decline(.walletKYCIncomplete, rule: "link.wallet_ekyc_verified"), "\(status)")
        }
    }

    func testLinkIsDeclinedWhenVerifiedEkycHasNoRecordedMethod() {
        var wallet = Fixture.w1
        wallet.ekycMethod = .unspecified
        XCTAssertEqual(
            checks.evaluate(Fixture.link(wallet: wallet)),
            .decline(.walletKYCIncomplete, rule: "link.wallet_ekyc_method_accepted"))
    }

    func testBankRequiringIcChipOrJpkiDeclinesOtherMethods() {
        var bank = Fixture.bank9900
        bank.profile.requiredEkycMethods = [.heICChipAndSelfie, .waJPKI]
        for method in EkycMethod.allCases where method != .unspecified {
            var wallet = Fixture.w1
            wallet.ekycMethod = method
            let expected: Verdict =
                bank.profile.requiredEkycMethods.contains(method)
                ? .approve : .decline(.walletKYCIncomplete, rule: "link.wallet_ekyc_method_accepted")
            XCTAssertEqual(checks.evaluate(Fixture.link(bank: bank, wallet: wallet)), expected, "\(method)")
        }
    }

    func testHoMethodIsAcceptedUntilTheEndOf2027March31Tokyo() {
        let cutoff = LinkRules.hoMethodRefusedFromUnixMs
        XCTAssertEqual(TokyoTime.format(unixMs: cutoff), "2027-04-01T00:00:00+09:00")
        XCTAssertEqual(cutoff, 1_806_505_200_000)  // `date -d 2027-04-01T00:00:00+09:00 +%s`
        var wallet = Fixture.w1
        wallet.ekycMethod = .hoPhotoIDAndSelfie
        var facts = Fixture.link(wallet: wallet)
        facts.request.customerAuth = nil  // judged alone below, so the auth age does not matter
        facts.nowUnixMs = cutoff - 1
        XCTAssertNil(LinkRules.walletEkycMethodAccepted.evaluate(facts))
        facts.nowUnixMs = cutoff
        XCTAssertEqual(
            LinkRules.walletEkycMethodAccepted.evaluate(facts),
            .decline(.walletKYCIncomplete, rule: "link.wallet_ekyc_method_accepted"))
    }

    func testHoMethodIsApprovedToday() {
        var wallet = Fixture.w1
        wallet.ekycMethod = .hoPhotoIDAndSelfie
        XCTAssertEqual(checks.evaluate(Fixture.link(wallet: wallet)), .approve)
    }

    func testLinkIsDeclinedWhenPhoneIsNotVerified() {
        XCTAssertEqual(
            checks.evaluate(Fixture.link(wallet: Fixture.w4, holder: "ﾀﾅｶ ｼﾞﾛｳ")),
            .decline(.walletPhoneUnverified, rule: "link.wallet_phone_verified"))
    }

    // MARK: Link code

    func testLinkIsDeclinedWhenLinkCodeDoesNotExist() {
        var facts = Fixture.link()
        facts.linkCode = nil
        XCTAssertEqual(checks.evaluate(facts), .decline(.linkCodeInvalid, rule: "link.link_code_valid"))
    }

    func testLinkIsDeclinedWhenLinkCodeWasUsed() {
        var facts = Fixture.link()
        facts.linkCode?.used = true
        XCTAssertEqual(checks.evaluate(facts), .decline(.linkCodeInvalid, rule: "link.link_code_valid"))
    }

    func testLinkCodeIsValidUntilOneMillisecondBeforeItExpires() {
        var facts = Fixture.link()
        facts.linkCode?.expiresAtUnixMs = facts.nowUnixMs + 1
        XCTAssertEqual(checks.evaluate(facts), .approve)
        facts.linkCode?.expiresAtUnixMs = facts.nowUnixMs
        XCTAssertEqual(checks.evaluate(facts), .decline(.linkCodeInvalid, rule: "link.link_code_valid"))
    }

    func testLinkIsDeclinedWhenLinkCodeWasIssuedForAnotherWallet() {
        var facts = Fixture.link()
        facts.linkCode?.walletID = "W0000002"
        XCTAssertEqual(checks.evaluate(facts), .decline(.linkCodeInvalid, rule: "link.link_code_valid"))
    }

    // MARK: Customer auth

    func testLinkIsDeclinedWhenCustomerAuthIsMissing() {
        var facts = Fixture.link()
        facts.request.customerAuth = nil
        XCTAssertEqual(checks.evaluate(facts), .decline(.weakCustomerAuth, rule: "link.customer_auth_strong"))
    }

    func testLinkIsDeclinedWhenCustomerAuthIsSingleFactor() {
        for method in AuthMethod.allCases {
            var facts = Fixture.link()
            facts.request.customerAuth = Fixture.strongAuth(method: method)
            let expected: Verdict =
                method.isMultiFactor
                ? .approve : .decline(.weakCustomerAuth, rule: "link.customer_auth_strong")
            XCTAssertEqual(checks.evaluate(facts), expected, "\(method)")
        }
        XCTAssertEqual(AuthMethod.allCases.filter { !$0.isMultiFactor }, [.unspecified, .passwordOnly])
    }

    func testCustomerAuthCountsUpToExactlyTenMinutesOld() {
        var facts = Fixture.link()
        facts.request.customerAuth = Fixture.strongAuth(agoMs: 600_000)
        XCTAssertEqual(checks.evaluate(facts), .approve)
        facts.request.customerAuth = Fixture.strongAuth(agoMs: 600_001)
        XCTAssertEqual(checks.evaluate(facts), .decline(.weakCustomerAuth, rule: "link.customer_auth_strong"))
    }

    func testCustomerAuthFromTheFutureIsWeakBeyondSixtySecondsOfSkew() {
        var facts = Fixture.link()
        facts.request.customerAuth = Fixture.strongAuth(agoMs: -60_000)
        XCTAssertEqual(checks.evaluate(facts), .approve)
        facts.request.customerAuth = Fixture.strongAuth(agoMs: -60_001)
        XCTAssertEqual(checks.evaluate(facts), .decline(.weakCustomerAuth, rule: "link.customer_auth_strong"))
        facts.request.customerAuth?.authenticatedAtUnixMs = .min
        XCTAssertEqual(checks.evaluate(facts), .decline(.weakCustomerAuth, rule: "link.customer_auth_strong"))
    }

    // MARK: Name, token

    func testLinkIsDeclinedWhenHolderNameDoesNotMatchEkycName() {
        XCTAssertEqual(
            checks.evaluate(Fixture.link(holder: "ﾔﾏﾀﾞ ﾊﾅｴ")), .decline(.nameMismatch, rule: "link.name_match"))
    }

    func testLinkIsApprovedForEveryWayABankWritesTheEkycName() {
        for holder in ["ﾔﾏﾀﾞ ﾊﾅｺ", "ヤマダハナコ", "ヤマダ　ハナコ", "やまだ はなこ", "ﾔﾏﾀ\u{FF9E}ﾊﾅｺ"] {
            XCTAssertEqual(checks.evaluate(Fixture.link(holder: holder)), .approve, holder)
        }
    }

    func testLinkIsDeclinedWhenWalletHasNoEkycNameEvenIfTheBankSendsNone() {
        var wallet = Fixture.w1
        wallet.ekycNameKana = ""
        XCTAssertEqual(
            checks.evaluate(Fixture.link(wallet: wallet, holder: "")), .decline(.nameMismatch, rule: "link.name_match"))
    }

    func testLinkIsDeclinedWhenAccountTokenIsActivelyLinkedToAnotherWallet() {
        var facts = Fixture.link()
        facts.tokenActivelyLinked = true
        XCTAssertEqual(checks.evaluate(facts), .decline(.accountLinkLimit, rule: "link.account_link_limit"))
    }

    // MARK: Order and composition

    func testEarlierRuleDecidesWhenTwoRulesFail() {
        var facts = Fixture.link(wallet: Fixture.w4, holder: "ﾀﾅｶ ｼﾞﾛｳ")  // phone unverified
        facts.linkCode = nil  // and no code
        XCTAssertEqual(checks.evaluate(facts), .decline(.walletPhoneUnverified, rule: "link.wallet_phone_verified"))
        facts.tokenActivelyLinked = true
        facts.request.accountHolderKana = "ｽｽﾞｷ"
        XCTAssertEqual(checks.evaluate(facts), .decline(.walletPhoneUnverified, rule: "link.wallet_phone_verified"))
        facts.bank = Fixture.bank0009
        XCTAssertEqual(checks.evaluate(facts).rejection?.message, "bank 0009 is SUSPENDED for link")
    }

    func testEveryFailingFactIsDecidedByTheRuleBeforeAllLaterOnes() {
        // Each failure on its own, in SPEC order; applying failures cumulatively from the last to the first, the
        // verdict must always be the earliest one applied so far.
        let failures: [(String, (inout LinkAttemptFacts) -> Void)] = [
            ("link.bank_enabled", { $0.bank.linkState = .pilot }),
            ("link.wallet_not_locked", { $0.wallet?.linkLocked = true }),
            ("link.wallet_ekyc_verified", { $0.wallet?.ekycStatus = .submitted }),
            ("link.wallet_phone_verified", { $0.wallet?.phoneVerified = false }),
            ("link.link_code_valid", { $0.linkCode?.used = true }),
            ("link.customer_auth_strong", { $0.request.customerAuth = nil }),
            ("link.name_match", { $0.request.accountHolderKana = "ｻﾄｳ" }),
            ("link.account_link_limit", { $0.tokenActivelyLinked = true }),
        ]
        var facts = Fixture.link()
        for (rule, fail) in failures.reversed() {
            fail(&facts)
            XCTAssertEqual(checks.evaluate(facts).rule, rule)
        }
    }

    func testChainWithoutTheNameRuleApprovesAMismatchedName() {
        let broken = LinkChecks(rules: LinkChecks.standard.rules.filter { $0.name != "link.name_match" })
        let facts = Fixture.link(holder: "ｽｽﾞｷ ｲﾁﾛｳ")
        XCTAssertEqual(checks.evaluate(facts), .decline(.nameMismatch, rule: "link.name_match"))
        XCTAssertEqual(broken.evaluate(facts), .approve)
    }

    func testEachRuleAloneJudgesOnlyItsOwnFact() {
        // A missing wallet is only walletExists' business: the others pass, so a chain without walletExists
        // really lacks that check.
        let facts = Fixture.link(wallet: nil)
        for rule in LinkRules.all where rule.name != "link.wallet_exists" {
            XCTAssertNil(rule.evaluate(facts), rule.name)
        }
    }
}
