import Foundation

// The demo's file names stay here: `serve --demo`, the benchmarks and the conformance command read these paths.
// Making the material (CA, certificates, CRLs, receipt key) is development-only and lives in DevelopmentSupport
// (`DevelopmentPKI.initialize`, `DevelopmentCA`).

/// The SPEC §6 development PKI under `DIR/pki/`.
public enum DevelopmentPKI {
    /// The demo banks of SPEC §6, each with a certificate.
    public static let demoBankCodes = ["9900", "0001", "0005", "0009"]
    /// The demo operator's name (`spiffe://bankgw.partners/operator/demo`).
    public static let demoOperatorName = "demo"
    /// The demo's second operator, the second pair of eyes of SPEC §8 (`spiffe://bankgw.partners/operator/demo2`).
    public static let demoSecondOperatorName = "demo2"

    /// Paths of the layout, relative to the state directory.
    public struct Layout: Sendable {
        public var root: String
        public init(stateDirectory: String) { self.root = stateDirectory + "/pki" }
        public var caCertificate: String { root + "/ca.pem" }
        public var caKey: String { root + "/ca.key" }
        public var serverCertificate: String { root + "/server.pem" }
        public var serverKey: String { root + "/server.key" }
        public func bankCertificate(_ code: String) -> String { root + "/banks/\(code).pem" }
        public func bankKey(_ code: String) -> String { root + "/banks/\(code).key" }
        public var operatorCertificate: String { root + "/operator.pem" }
        public var operatorKey: String { root + "/operator.key" }
        public var secondOperatorCertificate: String { root + "/operator2.pem" }
        public var secondOperatorKey: String { root + "/operator2.key" }
        public var receiptKey: String { root + "/receipt.key" }
        public var receiptPublicKey: String { root + "/receipt.pub.pem" }
        /// Where a CRL goes when an operator configures one (not created by `initialize`).
        public var crl: String { root + "/crl.pem" }
    }
}
