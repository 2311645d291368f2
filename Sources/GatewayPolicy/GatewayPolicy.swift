// GatewayPolicy: the mutual security checks of SPEC §3 and §4 as pure functions of facts.
//
// Where this stage sits: … → GatewayWire (decoded, well-formed request) → **GatewayPolicy** → WalletCore.
// Nothing here reads a clock for a decision (time is a fact), touches a database or imports Foundation; the one
// stateful piece is `BankRateLimiter`.
//
// How the service uses it, per bank request:
//   1. `RequestChecks.bankService(caller:headerBankCode:)`        wrong bank / operator → PERMISSION_DENIED
//   2. `BankRateLimiter.admit(bankCode:maxRequestsPerSecond:)`    over the rate → RESOURCE_EXHAUSTED
//   3. WalletCore answers a stored request from the store; for a new one `RequestChecks.replayWindow` (stale or
//      early → FAILED_PRECONDITION), then it reads `LinkAttemptFacts` / `ChargeAttemptFacts` in its writer
//      transaction and applies `LinkChecks.standard.evaluate(_:)` / `ChargeChecks.standard.evaluate(_:)`:
//        .approve → link / credit; .hold(rule:) → record and reserve, credit nothing; .decline(reason, rule:) →
//        DECLINED; .reject(rejection) → gRPC error, nothing stored.
//      Releasing a hold runs `ChargeChecks.release` (`ChargeRules.credit`) again at release time.
//   4. After a judged link: `LinkDeclineStreak.next(current:after:)`; after an Unlink:
//      `UnlinkReason.freezesCharges(_:)`. Admin state changes: `BankEnablement.checkChange(…)`.
//
// Every threshold is defined once, here: `LinkDeclineStreak.maxDeclinedLinksInARow` (5),
// `ChargeRules.rapidChargeWindowMs` (10 min), `ChargeRules.tokenMovedWindowMs` (30 days),
// `BankEnablement.maxConformanceAgeMs` (90 days), `LinkRules.linkCodeLifetimeMs` (10 min),
// `RequestChecks.maxClockSkewMs` (300 s), `RequestChecks.minIdempotencyRetentionMs` (30 days), the FRAUD reason
// (`UnlinkReason`), and one Asia/Tokyo calendar (`TokyoTime`).
//
// Rule catalogue (the `rule` strings are stable audit identifiers):
//
//   link.bank_enabled                 SUSPENDED/unset → reject PERMISSION_DENIED "bank NNNN is SUSPENDED for link";
//                                     PENDING + non-test or unknown wallet → reject PERMISSION_DENIED (names PENDING);
//                                     PILOT + wallet not on the pilot list → NOT_IN_PILOT
//   link.wallet_exists                WALLET_NOT_FOUND
//   link.wallet_not_locked            FRAUD_SUSPECTED          (locked after 5 declines in a row)
//   link.wallet_ekyc_verified         WALLET_KYC_INCOMPLETE
//   link.wallet_ekyc_method_accepted  WALLET_KYC_INCOMPLETE    (no method; not in the bank's required set;
//                                                               ホ from 2027-04-01 00:00 JST)
//   link.wallet_phone_verified        WALLET_PHONE_UNVERIFIED
//   link.link_code_valid              LINK_CODE_INVALID        (missing, used, expired at expiresAt, other wallet)
//   link.customer_auth_strong         WEAK_CUSTOMER_AUTH       (missing, single factor, > 10 min old, > 60 s ahead)
//   link.name_match                   NAME_MISMATCH            (see KanaName)
//   link.account_link_limit           ACCOUNT_LINK_LIMIT
//
//   charge.bank_enabled               as link.bank_enabled, for the `charge` state and the link's wallet
//   charge.link_active                LINK_NOT_ACTIVE          (missing, unlinked, another bank's, no wallet)
//   charge.wallet_not_frozen          FRAUD_SUSPECTED          (frozen by an Unlink whose first word is FRAUD)
//   charge.customer_auth              WEAK_CUSTOMER_AUTH       (only when the profile requires it)
//   charge.limit.per_charge           LIMIT_EXCEEDED           (amount ≤ 0 → reject INVALID_ARGUMENT)
//   charge.limit.daily                LIMIT_EXCEEDED           (today, Asia/Tokyo; credited + open holds)
//   charge.limit.monthly              LIMIT_EXCEEDED           (this month, Asia/Tokyo; credited + open holds)
//   charge.balance_cap                BALANCE_CAP_EXCEEDED     (balance + open holds)
//   charge.limit.new_link             LIMIT_EXCEEDED           (< newLinkCautionMs since linking)
//   charge.hold.new_link_near_limit   HOLD                     (new link, ≥ 80 % of min(newLinkMax, maxCharge))
//   charge.hold.near_limit            HOLD                     (established link, ≥ 80 % of maxCharge)
//   charge.hold.rapid_charges_on_link HOLD                     (≥ 3 charges from the token to the wallet, any
//                                                               link, in the last 10 min)
//   charge.hold.token_moved_wallets   HOLD                     (first charge after the token moved wallets)
