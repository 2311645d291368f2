import GatewayTLS
import XCTest

final class PeerIdentityTests: XCTestCase {
    func testBankURIWithFourDigitsNamesTheBank() {
        XCTAssertEqual(PeerIdentity(spiffeURI: "spiffe://bankgw.partners/bank/9900"), .bank(code: "9900"))
        XCTAssertEqual(PeerIdentity(spiffeURI: "spiffe://bankgw.partners/bank/0001"), .bank(code: "0001"))
    }

    func testOperatorURINamesTheOperator() {
        XCTAssertEqual(PeerIdentity(spiffeURI: "spiffe://bankgw.partners/operator/demo"), .operatorName("demo"))
    }

    func testURIsOutsideTheContractAreNotIdentities() {
        for uri in [
            "spiffe://bankgw.partners/bank/990", "spiffe://bankgw.partners/bank/99000",
            "spiffe://bankgw.partners/bank/99a0", "spiffe://other.domain/bank/9900",
            "spiffe://bankgw.partners/bank/9900/extra", "spiffe://bankgw.partners/operator/",
            "spiffe://bankgw.partners/operator/a b", "spiffe://bankgw.partners/admin/demo",
            "https://bankgw.partners/bank/9900",
            "spiffe://bankgw.partners/operator/" + String(repeating: "x", count: 65),
            "SPIFFE://bankgw.partners/bank/9900",
        ] {
            XCTAssertNil(PeerIdentity(spiffeURI: uri), uri)
        }
    }

    func testIdentityRoundTripsThroughItsURI() {
        for identity in [PeerIdentity.bank(code: "0009"), .operatorName("ops-1")] {
            XCTAssertEqual(PeerIdentity(spiffeURI: identity.spiffeURI), identity)
        }
    }
}
