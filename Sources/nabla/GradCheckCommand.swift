import ArgumentParser
import Foundation
import Nabla

/// `nabla gradcheck`: numeric vs analytic gradients of every differentiable op and layer.
struct GradCheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gradcheck",
        abstract: "Compare analytic gradients with central differences (Double) for every op and layer.",
        discussion: """
            Prints one row per case: the op or layer, its input shapes, the max-norm relative error \
            ‖analytic − numeric‖∞ / max(‖analytic‖∞, ‖numeric‖∞), and PASS/FAIL against the threshold. \
            Exits with status 1 if any case fails.
            """)

    @Option(name: .long, help: "Only cases whose name contains this text (case-insensitive).")
    var filter: String?

    @Option(name: .long, help: "Pass threshold on the relative error.")
    var threshold: Double = GradientCheckSuite.threshold

    func validate() throws {
        guard threshold > 0 && threshold.isFinite else { throw ValidationError("--threshold must be a positive number, got \(threshold)") }
        guard !cases.isEmpty else { throw ValidationError("--filter \(filter ?? ""): no gradient-check case matches") }
    }

    /// The cases `--filter` selects.
    var cases: [GradientCheckCase] {
        GradientCheckSuite.all.filter { filter == nil || $0.name.lowercased().contains(filter!.lowercased()) }
    }

    func run() throws {
        let cases = self.cases
        let nameWidth = max(10, cases.map(\.name.count).max()!)
        let shapeWidth = max(6, cases.map(\.shapes.count).max()!)
        print("op or layer".padding(toLength: nameWidth, withPad: " ", startingAt: 0) + "  "
              + "shapes".padding(toLength: shapeWidth, withPad: " ", startingAt: 0) + "  rel. error  result")
        var failures = 0
        for c in cases {
            let error = c.run().maxRelativeError
            let passed = error < threshold
            if !passed { failures += 1 }
            print(c.name.padding(toLength: nameWidth, withPad: " ", startingAt: 0) + "  "
                  + c.shapes.padding(toLength: shapeWidth, withPad: " ", startingAt: 0) + "  "
                  + String(format: "%.2e", error).padding(toLength: 10, withPad: " ", startingAt: 0) + "  "
                  + (passed ? "PASS" : "FAIL"))
        }
        print("\(cases.count - failures) passed, \(failures) failed (threshold \(threshold))")
        if failures > 0 { throw ExitCode(1) }
    }
}
