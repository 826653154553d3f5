import ParleyRelay
import Testing

@Suite struct RecentMessageIDsTests {
    @Test func dropsRepeatsWithinTheWindowAndForgetsTheOldest() {
        var recent = RecentMessageIDs(capacity: 3)
        let firstThree = [recent.insert("a"), recent.insert("b"), recent.insert("c")]
        #expect(firstThree == [true, true, true])
        let repeated = recent.insert("a")
        #expect(!repeated)
        let fourth = recent.insert("d")  // evicts "a"
        #expect(fourth)
        #expect(recent.count == 3)
        let forgotten = recent.insert("a")  // accepted again, evicts "b"
        #expect(forgotten)
        let stillKnown = [recent.insert("c"), recent.insert("d"), recent.insert("b")]
        #expect(stillKnown == [false, false, true])
    }
}
