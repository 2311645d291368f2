import Conformance
import GatewayCrypto
import GatewayRPC
import GatewayTLS
import GatewayWire
import NIOConcurrencyHelpers

/// SPEC §4: a conformance run counts only if the gateway witnessed it. As the request observer of the TLS
/// listener it notes, per bank and run id, which cases of the suite reached it over that bank's own certificate
/// (the `bankgw-conformance-case` metadata, read from calls that bank's certificate made, whatever their outcome)
/// and the certificate key they came with; `verify` then accepts a RecordConformance only for a run it saw cover
/// every case, whose report is signed with that key.
///
/// Kept in memory: a run is recorded right after it ends (`bankgw conformance` does both); a gateway restarted
/// in between has seen nothing and the run has to be repeated.
public final class ConformanceWitness: Sendable {
    /// Runs remembered (oldest forgotten first): far more than banks ever run at once.
    public static let maxRuns = 256

    struct RunKey: Hashable {
        var bankCode: String
        var runID: String
    }

    struct Run {
        var publicKeyDER: [UInt8]
        /// Requests of one run came with more than one certificate key.
        var keyChanged = false
        var cases: Set<String> = []
    }

    private struct State {
        var runs: [RunKey: Run] = [:]
        var order: [RunKey] = []
    }

    private let state = NIOLockedValueBox(State())
    private static let knownCases = Set(ConformanceWitnessing.caseNames)

    public init() {}

    /// The request observer (`RPCServices.requestObserver`): cheap, on the event loop.
    public func observe(_ head: RPCObservedRequest) {
        guard case .bank(let code) = head.peer, let tag = head.metadata[ConformanceWitnessing.metadataName] else {
            return
        }
        let parts = tag.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, ConformanceWitnessing.isValidRunID(parts[0]), Self.knownCases.contains(String(parts[1]))
        else { return }
        let key = RunKey(bankCode: code, runID: String(parts[0]))
        state.withLockedValue { state in
            if var run = state.runs[key] {
                if run.publicKeyDER != head.peerPublicKeyDER { run.keyChanged = true }
                run.cases.insert(String(parts[1]))
                state.runs[key] = run
                return
            }
            if state.order.count >= Self.maxRuns {
                state.runs.removeValue(forKey: state.order.removeFirst())
            }
            state.order.append(key)
            state.runs[key] = Run(publicKeyDER: head.peerPublicKeyDER, cases: [String(parts[1])])
        }
    }

    /// Throws FAILED_PRECONDITION naming what is missing unless `record` is a run this gateway witnessed over the
    /// bank's certificate, covering every case, signed with that certificate's key.
    public func verify(_ record: ConformanceRecord) throws(GRPCStatus) {
        guard !record.runID.isEmpty else {
            throw GRPCStatus(
                .failedPrecondition,
                "record.run_id: required; only a run the gateway witnessed can be recorded (an operator's word "
                    + "alone records nothing)")
        }
        guard let run = state.withLockedValue({ $0.runs[RunKey(bankCode: record.bankCode, runID: record.runID)] })
        else {
            throw GRPCStatus(
                .failedPrecondition,
                "the gateway witnessed no conformance run \(record.runID) of bank \(record.bankCode) "
                    + "over its certificate")
        }
        guard !run.keyChanged else {
            throw GRPCStatus(.failedPrecondition, "run \(record.runID) came with more than one certificate key")
        }
        let missing = ConformanceWitnessing.witnessedCaseNames.subtracting(run.cases)
        guard missing.isEmpty else {
            throw GRPCStatus(
                .failedPrecondition,
                "run \(record.runID) of bank \(record.bankCode) did not cover every case; not witnessed: "
                    + missing.sorted().joined(separator: ", "))
        }
        let signed: [UInt8]
        do {
            signed = try record.bankSignedBytes()
        } catch {
            throw GRPCStatus(.invalidArgument, "record: \(error)")
        }
        guard let key = try? PrivateKey.publicKey(spkiDER: run.publicKeyDER),
            key.verifySHA256(signature: record.reportSignature, message: signed)
        else {
            throw GRPCStatus(
                .failedPrecondition,
                "record.report_signature: not a signature of bank \(record.bankCode)'s certificate key over the report")
        }
    }
}
