import GatewayWire
import Glibc

/// Where the gateway is and the certificates the suite presents (SPEC §1, §7).
///
/// The suite is a client of the gateway exactly as a bank is: it connects with the bank's certificate for
/// `bankgw.v1.BankGateway`, and with an operator's certificate for the set-up it needs through
/// `bankgw.admin.v1.Admin` (test wallets, link codes, balances) and to record the result.
public struct ConformanceTarget: Sendable {
    /// The TLS port's address (SPEC §1 default 127.0.0.1:8443).
    public var host: String
    public var port: Int
    /// The h2c health probe's address (SPEC §1 default 127.0.0.1:8081).
    public var probeHost: String
    public var probePort: Int
    /// The partner CA the gateway's certificate must chain to.
    public var caPath: String
    public var bankCertificatePath: String
    public var bankKeyPath: String
    public var operatorCertificatePath: String
    public var operatorKeyPath: String
    /// A second operator's certificate and key: the other pair of eyes (SPEC §8) the reversal case needs.
    public var secondOperatorCertificatePath: String? = nil
    public var secondOperatorKeyPath: String? = nil

    public init(
        host: String, port: Int, probeHost: String, probePort: Int, caPath: String, bankCertificatePath: String,
        bankKeyPath: String, operatorCertificatePath: String, operatorKeyPath: String
    ) {
        precondition((1...65_535).contains(port) && (1...65_535).contains(probePort), "ports are 1...65535")
        self.host = host
        self.port = port
        self.probeHost = probeHost
        self.probePort = probePort
        self.caPath = caPath
        self.bankCertificatePath = bankCertificatePath
        self.bankKeyPath = bankKeyPath
        self.operatorCertificatePath = operatorCertificatePath
        self.operatorKeyPath = operatorKeyPath
    }
}

/// One run of the suite: which bank, against which gateway, and how the bank checks receipts.
public struct ConformanceConfiguration: Sendable {
    public var target: ConformanceTarget
    /// The 4-digit bank code the suite speaks for; its certificate must say the same.
    public var bankCode: String
    /// Checks a receipt signature with the gateway's published key (SPEC §5). A closure so this module needs no
    /// key handling of its own: the command passes `ReceiptVerifier(stateDirectory:).isValid`.
    public var verifyReceipt: @Sendable (ChargeResponse) -> Bool
    /// Makes this run's wallet ids, request ids and tokens unique; default from the clock.
    public var runID: String
    /// Longest any single call may take; default 10 s. A case whose call times out fails (DEADLINE_EXCEEDED).
    public var callTimeoutMs: Int64

    public init(
        target: ConformanceTarget, bankCode: String, verifyReceipt: @escaping @Sendable (ChargeResponse) -> Bool,
        runID: String = String(ConformanceClock.nowUnixMs()), callTimeoutMs: Int64 = 10_000
    ) {
        precondition(bankCode.count == 4 && bankCode.allSatisfy(\.isASCIIDigit), "bank code is 4 digits")
        precondition(!runID.isEmpty && runID.count <= 20, "run id is 1...20 characters")
        precondition(callTimeoutMs > 0, "callTimeoutMs > 0")
        self.target = target
        self.bankCode = bankCode
        self.verifyReceipt = verifyReceipt
        self.runID = runID
        self.callTimeoutMs = callTimeoutMs
    }
}

/// Why a run could not produce a report at all (as opposed to cases that failed).
public enum ConformanceError: Error, CustomStringConvertible {
    /// The gateway could not be reached or refused the handshake (SPEC §7 exit 69).
    case unreachable(String)
    /// The operator's set-up or the recording of the result failed: the run proves nothing.
    case setupFailed(String)

    public var description: String {
        switch self {
        case .unreachable(let why): return "gateway unreachable: \(why)"
        case .setupFailed(let why): return "set-up failed: \(why)"
        }
    }
}

public enum ConformanceClock {
    public static func nowUnixMs() -> Int64 {
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        return Int64(now.tv_sec) * 1000 + Int64(now.tv_nsec) / 1_000_000
    }

    static func monotonicNs() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) * 1_000_000_000 + UInt64(now.tv_nsec)
    }
}

extension Character {
    var isASCIIDigit: Bool { isASCII && isNumber }
}
