/// A parser of the one Python literal an `.npy` header holds: a dict of string keys whose values are
/// strings, `True`/`False`, integers or tuples of integers, e.g.
/// `{'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }` followed by padding and a newline.
///
/// Grammar (whitespace allowed between tokens, trailing commas allowed as in Python):
/// ```
/// header := '{' [ entry { ',' entry } [','] ] '}'
/// entry  := string ':' value
/// value  := string | 'True' | 'False' | int | '(' [ int { ',' int } [','] ] ')'
/// int    := ['-'] digit { digit } ['L']
/// ```
/// Anything else (lists, nested dicts — NumPy's structured dtypes) is rejected with a message naming
/// the offset. The parser is iterative and bounded by the header length, so hostile headers cannot
/// recurse or overflow.
struct PythonLiteralParser {
    enum Value: Equatable {
        case string(String), bool(Bool), int(Int), tuple([Int])
    }

    struct Failure: Error { let message: String }

    private let characters: [Character]
    private var position = 0

    init(_ text: String) { characters = Array(text) }

    /// Parses the whole text as a header dict; only whitespace may follow it.
    mutating func parseHeader() throws -> [String: Value] {
        var result: [String: Value] = [:]
        try expect("{")
        while true {
            skipWhitespace()
            if peek == "}" { position += 1; break }
            let key = try parseString()
            try expect(":")
            skipWhitespace()
            guard result[key] == nil else { throw failure("repeats the key '\(key)'") }
            result[key] = try parseValue()
            skipWhitespace()
            if peek == "," { position += 1; continue }
            try expect("}")
            break
        }
        skipWhitespace()
        guard position == characters.count else { throw failure("has unexpected text after the dict") }
        return result
    }

    private var peek: Character? { position < characters.count ? characters[position] : nil }

    private func failure(_ why: String) -> Failure { Failure(message: "\(why) (at character \(position))") }

    private mutating func skipWhitespace() {
        while let c = peek, c.isWhitespace { position += 1 }
    }

    private mutating func expect(_ c: Character) throws {
        skipWhitespace()
        guard peek == c else { throw failure(peek == nil ? "ends before '\(c)'" : "has '\(peek!)' where '\(c)' was expected") }
        position += 1
    }

    private mutating func parseString() throws -> String {
        skipWhitespace()
        guard let quote = peek, quote == "'" || quote == "\"" else { throw failure("has no quoted key where one was expected") }
        position += 1
        var text = ""
        while let c = peek, c != quote {
            guard c != "\\" else { throw failure("has an escape sequence in a string") }
            text.append(c)
            position += 1
        }
        guard peek == quote else { throw failure("has an unterminated string") }
        position += 1
        return text
    }

    private mutating func parseValue() throws -> Value {
        switch peek {
        case "'", "\"":
            return .string(try parseString())
        case "(":
            position += 1
            var items: [Int] = []
            while true {
                skipWhitespace()
                guard peek != nil else { throw failure("ends inside a tuple") }
                if peek == ")" { position += 1; return .tuple(items) }
                items.append(try parseInt())
                skipWhitespace()
                if peek == "," { position += 1; continue }
                try expect(")")
                return .tuple(items)
            }
        case "T", "F":
            for (word, value) in [("True", true), ("False", false)] where matches(word) {
                position += word.count
                return .bool(value)
            }
            throw failure("has an unknown word")
        case let c? where c == "-" || (c.isASCII && c.isNumber):
            return .int(try parseInt())
        default:
            throw failure("has a value that is not a string, boolean, integer or tuple (structured dtypes are not supported)")
        }
    }

    private func matches(_ word: String) -> Bool {
        let end = position + word.count
        return end <= characters.count && String(characters[position..<end]) == word
    }

    private mutating func parseInt() throws -> Int {
        var negative = false
        if peek == "-" { negative = true; position += 1 }
        var value = 0, digits = 0
        while let c = peek, let digit = c.wholeNumberValue, c.isASCII {
            let (times, o1) = value.multipliedReportingOverflow(by: 10)
            let (plus, o2) = times.addingReportingOverflow(digit)
            guard !o1, !o2 else { throw failure("has an integer too large") }
            value = plus
            digits += 1
            position += 1
        }
        guard digits > 0 else { throw failure("has no digits where an integer was expected") }
        if peek == "L" { position += 1 }
        return negative ? -value : value
    }
}
