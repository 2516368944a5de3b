import Foundation
import Prep
import Testing
import TestSupport

@Suite("Readers")
struct ReaderTests {
    func file(_ name: String, _ bytes: [UInt8]) -> String {
        let path = Fixtures.temporaryDirectory() + "/" + name
        _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
        return path
    }

    func read(_ path: String, format: InputFormat = .auto, blocks: Bool = false) throws -> ([Record], DropCounts) {
        var reader = RecordReader(path: path, format: format)
        reader.textBlocks = blocks
        var records: [Record] = []
        var drops = DropCounts()
        try reader.forEach(drops: &drops) { record, _ in records.append(record) }
        return (records, drops)
    }

    @Test("CSV: BOM, CRLF, quoted commas, quotes and newlines, empty fields, a bad row, a truncated last line")
    func csv() throws {
        let text = "\u{FEFF}title,description\r\n"
            + "Silla,\"Cómoda, de roble\"\r\n"
            + "\"Mesa \"\"grande\"\"\",\"Dos\nlíneas\"\r\n"
            + "Lámpara,\r\n"
            + "solo,un,campo,de más\r\n"
            + "Taza,\"sin cerrar"
        let (records, drops) = try read(file("p.csv", Array(text.utf8)))
        #expect(records.map { $0.fields["title"]! } == ["Silla", "Mesa \"grande\"", "Lámpara"])
        #expect(records.map { $0.fields["description"]! } == ["Cómoda, de roble", "Dos\nlíneas", ""])
        #expect(records.map(\.line) == [2, 3, 5])
        #expect(drops[.unparsable] == 2)
        #expect(drops.firstLines["unparsable"] == [6, 7])
    }

    @Test("CSV: invalid UTF-8 in a field is counted with its line")
    func csvInvalidUTF8() throws {
        let bytes = Array("a,b\nok,bien\n".utf8) + [0x6D, 0x61, 0x6C, 0xFF, 0x2C, 0x78, 0x0A]
        let (records, drops) = try read(file("u.csv", bytes))
        #expect(records.count == 1)
        #expect(drops[.invalidUTF8] == 1 && drops.firstLines["invalid_utf8"] == [3])
    }

    @Test("JSONL: objects, nulls, numbers, a broken line, invalid UTF-8, blank lines, no final newline")
    func jsonl() throws {
        let bytes = Array("{\"t\": \"uno\", \"n\": 3}\n\n{\"t\": null}\n{roto\n".utf8) + [0x7B, 0x22, 0x74, 0x22, 0x3A, 0x22, 0xC3, 0x22, 0x7D, 0x0A]
            + Array("{\"t\": \"último\"}".utf8)
        let (records, drops) = try read(file("d.jsonl", bytes))
        #expect(records.map { $0.fields["t"] } == ["uno", nil, "último"])
        #expect(records[0].fields["n"] == "3")
        #expect(drops[.unparsable] == 1 && drops[.invalidUTF8] == 1)
    }

    @Test("text: lines or blank-line blocks; a 10 MB single line stays whole")
    func text() throws {
        let path = file("t.txt", Array("uno\r\ndos\r\n\r\ntres\ncuatro\n\n\n".utf8))
        #expect(try read(path).0.map { $0.fields["text"]! } == ["uno", "dos", "", "tres", "cuatro", "", ""])
        #expect(try read(path, blocks: true).0.map { $0.fields["text"]! } == ["uno\ndos", "tres\ncuatro"])
        let long = [UInt8](repeating: 0x61, count: 10 << 20)
        let (records, _) = try read(file("long.txt", long + [0x0A, 0x62]))
        #expect(records.count == 2 && records[0].fields["text"]!.utf8.count == 10 << 20 && records[1].fields["text"] == "b")
    }
}
