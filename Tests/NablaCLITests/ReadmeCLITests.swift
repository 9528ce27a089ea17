import Foundation
import XCTest
import NablaTestSupport

/// The README stays true to the command line: every flag `nabla train --help` lists is described in
/// the README, every flag the README names exists, and every `nabla train` command it shows is
/// accepted as written. Fast (only `--help` and `--print-plan`, no data is read); the slow half —
/// running the tutorial and comparing its output — is `make readme-check`.
final class ReadmeCLITests: XCTestCase {
    /// The subcommands whose `--help` the README's flags are looked up in.
    static let commands: [[String]] = [
        [], ["train"], ["evaluate"], ["predict"], ["lr-find"], ["study", "regularization"], ["study", "optimizers"],
        ["study", "search"], ["summary"], ["gradcheck"], ["bench"],
    ]

    /// Flags the README names that belong to other programs: the scripts it runs
    /// (`Scripts/fashion-mnist-pngs.py`, `bench/compare.py`, `bench/scaling.py`), TensorBoard, and the
    /// launchers and build tools of the data-parallel section (`mpirun`, `srun`, `swift build`).
    static let otherPrograms: Set<String> = ["--count", "--flat", "--python", "--torch-avx2", "--rounds", "--cpu-time", "--logdir",
                                             "--from-file", "--oversubscribe", "--bind-to", "--mpi", "--disable-default-traits"]

    /// Flags `nabla --help` does not list (ExitCodeTests runs them).
    static let hidden: Set<String> = ["--generate-completion-script"]

    var readme: String!

    override func setUpWithError() throws {
        try XCTSkipUnless(FileManager.default.isExecutableFile(atPath: CLI.executable.path),
                          "NOTICE: the nabla executable is not built at \(CLI.executable.path)")
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../README.md")
        readme = try String(contentsOf: url, encoding: .utf8)
    }

    /// The `--long-flag` names in `text`.
    static func flags(in text: String) -> Set<String> {
        let pattern = try! NSRegularExpression(pattern: "(?<![A-Za-z0-9-])--[a-z][a-z0-9-]*[a-z0-9]")
        let range = NSRange(text.startIndex..., in: text)
        return Set(pattern.matches(in: text, range: range).map { String(text[Range($0.range, in: text)!]) })
    }

    func help(_ command: [String]) throws -> String {
        let result = try CLI.run(command + ["--help"])
        XCTAssertEqual(result.status, 0, "\(command) --help: \(result.stderr)")
        return result.stdout
    }

    func testEveryTrainFlagIsDescribedInTheReadme() throws {
        let listed = Self.flags(in: try help(["train"]))
        XCTAssertGreaterThan(listed.count, 40, "nabla train --help lists too few flags to be parsed right")
        let described = Self.flags(in: readme)
        let missing = listed.subtracting(described).sorted()
        XCTAssertEqual(missing, [], "nabla train --help lists flags the README does not mention: \(missing)")
    }

    func testEveryFlagTheReadmeNamesExists() throws {
        var known = Self.otherPrograms.union(Self.hidden)
        for command in Self.commands { known.formUnion(Self.flags(in: try help(command))) }
        let unknown = Self.flags(in: readme).subtracting(known).sorted()
        XCTAssertEqual(unknown, [], "the README names flags no nabla command has: \(unknown)")
    }

    /// The README's `nabla train` command lines (joined across `\` continuations), but those that
    /// elide flags with `...` or `…`.
    func trainCommands() -> [[String]] {
        var commands: [[String]] = []
        var pending: String?
        for raw in readme.split(separator: "\n", omittingEmptySubsequences: false) {
            var line = raw.trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("$ ") { line.removeFirst(2) }
            if let previous = pending { line = previous + " " + line } else if !line.hasPrefix("nabla train ") { continue }
            if let comment = line.range(of: " #") { line = String(line[..<comment.lowerBound]) }
            if line.hasSuffix("\\") {
                pending = String(line.dropLast())
                continue
            }
            pending = nil
            if line.contains("...") || line.contains("…") { continue }
            commands.append(line.split(separator: " ").map(String.init).dropFirst().map { $0 })
        }
        return commands
    }

    func testEveryReadmeTrainCommandIsAccepted() throws {
        let commands = trainCommands()
        XCTAssertGreaterThanOrEqual(commands.count, 3, "the README's nabla train commands were not found")
        for arguments in commands {
            let result = try CLI.run(arguments + ["--print-plan"])
            XCTAssertEqual(result.status, 0, "README: nabla \(arguments.joined(separator: " ")): \(result.stderr)")
            XCTAssertTrue(result.stdout.contains("\"model\""), "nabla \(arguments.joined(separator: " ")) --print-plan: \(result.stdout)")
        }
    }

    /// The learning-rate table lists every optimizer `nabla train` knows, with the default `--help` states.
    func testTheReadmeStatesEachOptimizersDefaultLearningRate() throws {
        let trainHelp = try help(["train"])
        let rows = readme.split(separator: "\n").filter { $0.hasPrefix("| `") && $0.split(separator: "|").count == 4 }
        var stated: [String: String] = [:]
        for row in rows {
            let cells = row.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) }
            stated[cells[0].trimmingCharacters(in: CharacterSet(charactersIn: "`"))] = cells[1]
        }
        let optimizerLine = try XCTUnwrap(readme.split(separator: "\n").first { $0.hasPrefix("| `--optimizer ") })
        let names = optimizerLine.split(separator: "`")[1].dropFirst("--optimizer ".count).components(separatedBy: "\\|")
        XCTAssertGreaterThanOrEqual(names.count, 5)
        let optimizerSection = try XCTUnwrap(trainHelp.components(separatedBy: "OPTIMIZER:").dropFirst().first?
            .components(separatedBy: "  --lr ").first)
        let listed = optimizerSection.split(separator: "\n").compactMap { line -> String? in
            let words = line.trimmingCharacters(in: .whitespaces).split(separator: " ")
            guard line.hasPrefix("        "), words.count > 1, words[1].hasPrefix("("), words[1].hasSuffix("):") else { return nil }
            return String(words[0])
        }
        XCTAssertEqual(Set(listed), Set(names), "README's --optimizer row and nabla train --help list different optimizers")
        let flat = trainHelp.split(whereSeparator: \.isWhitespace).joined(separator: " ")
        for name in names {
            let rate = try XCTUnwrap(stated[name], "README: the learning-rate table has no row for \(name)")
            let entry = try NSRegularExpression(pattern: "(?<![a-z-])\(name) \\([A-Za-z]+\\): .*? Default lr ([0-9.e-]+) ")
            let match = try XCTUnwrap(entry.firstMatch(in: flat, range: NSRange(flat.startIndex..., in: flat)),
                                      "nabla train --help states no default lr for \(name)")
            XCTAssertEqual(Double(flat[Range(match.range(at: 1), in: flat)!]), Double(rate),
                           "README: \(name) trains at \(rate) without --lr, but nabla train --help says otherwise")
        }
    }
}
