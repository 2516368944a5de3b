import Testing
import Tokenizer

@Suite struct ConcurrencyTests {
    /// One tokenizer value shared by many tasks: results must not depend on who else is encoding.
    @Test func concurrentEncodesAgree() async {
        let tok = Fixtures.big
        let text = Fixtures.testText
        let expected = tok.encode(text)
        let results = await withTaskGroup(of: [Int32].self) { group in
            for k in 0..<8 {
                group.addTask {
                    // Different slices first, so the tasks' caches see different words.
                    _ = tok.encode(String(text.dropFirst(k * 997)))
                    return tok.encode(text)
                }
            }
            var all = [[Int32]]()
            for await r in group { all.append(r) }
            return all
        }
        #expect(results.count == 8)
        #expect(results.allSatisfy { $0 == expected })
    }
}
