import ParleyCodec
import ParleyCodecJSON
import XCTest

/// Runs every golden fixture; one failure per fixture, naming its file.
final class FrameFixtureXCTests: XCTestCase {
    func testEveryFixtureDecodesAsExpected() throws {
        let fixtures = try FrameFixtures.load()
        XCTAssertGreaterThanOrEqual(fixtures.count, 80, "expected at least 80 fixtures in \(FrameFixtures.directory.path)")
        for fixture in fixtures {
            do {
                let outcome = try fixture.decode()
                if !outcome.matches(fixture.expectation.expected) {
                    XCTFail("""
                        \(fixture.name).stomp: decoded
                        \(outcome)
                        but \(fixture.name).json expects
                        \(fixture.expectation.expected)
                        """)
                }
            } catch {
                XCTFail("\(fixture.name).json: \(error)")
            }
        }
    }

    func testEveryErrorKindIsCoveredByAFixture() throws {
        let kinds = Set(try FrameFixtures.load().compactMap(\.expectation.error))
        for kind in StompDecodingError.Kind.allCases {
            XCTAssertTrue(kinds.contains(kind.rawValue), "no fixture expects \(kind.rawValue)")
        }
        for kind in kinds {
            XCTAssertNotNil(StompDecodingError.Kind(rawValue: kind), "fixture uses unknown error kind \(kind)")
        }
    }
}
