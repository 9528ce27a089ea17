import Foundation
import NablaTensor
import NablaIO
import NablaOptim

extension TrainingPlan {
    /// The plan as JSON with sorted keys and no insignificant whitespace: the same plan always
    /// gives the same bytes (numbers in Swift's shortest round-trip form).
    public var canonicalJSON: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // A plan holds only strings, finite numbers and flags; validate() rejects non-finite values.
        guard let data = try? encoder.encode(self) else { preconditionFailure("TrainingPlan holds a value JSON cannot encode") }
        return String(decoding: data, as: UTF8.self)
    }

    /// The plan as indented JSON for a file (`nabla train --print-plan`), readable by ``init(json:source:)``.
    public var prettyJSON: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(self) else { preconditionFailure("TrainingPlan holds a value JSON cannot encode") }
        return String(decoding: data, as: UTF8.self) + "\n"
    }

    /// Reads a plan written by ``prettyJSON`` or ``canonicalJSON`` (or by hand: missing keys take
    /// their defaults only where the type gives one — `model` and `data` are required).
    /// - Throws: ``/NablaTensor/NablaError`` naming `source` and the problem.
    public init(json: Data, source: String) throws {
        let decoder = JSONDecoder()
        do {
            self = try decoder.decode(TrainingPlan.self, from: json)
        } catch let error as DecodingError {
            throw NablaError(.invalidFile, "\(source): not a training plan (\(Self.describe(error)))")
        } catch {
            throw NablaError(.invalidFile, "\(source): not a training plan (not valid JSON)")
        }
    }

    private static func describe(_ error: DecodingError) -> String {
        func path(_ keys: [CodingKey]) -> String {
            keys.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
        }
        switch error {
        case .keyNotFound(let key, let context): return "missing '\(path(context.codingPath + [key]))'"
        case .typeMismatch(_, let context), .valueNotFound(_, let context):
            return "'\(path(context.codingPath))' has the wrong type"
        case .dataCorrupted(let context):
            return context.codingPath.isEmpty ? "not valid JSON" : "'\(path(context.codingPath))': \(context.debugDescription)"
        @unknown default: return "unreadable"
        }
    }

    /// The part of the plan that decides what is trained: everything but ``output``, the budget
    /// (``epochs``, ``steps``), and what to do when training diverges (``skipNonFinite``,
    /// ``allowDivergence``), which a resumed run may change: a run that stopped as diverged resumes
    /// from its last checkpoint with either flag added, exactly as if it had had it from the start.
    public var identityPlan: TrainingPlan {
        var plan = self
        plan.output = Output()
        plan.epochs = 10
        plan.steps = nil
        plan.skipNonFinite = false
        plan.allowDivergence = false
        if plan.precision == .float32 { plan.precision = nil }
        return plan
    }

    /// What a checkpoint records to make sure `--resume` continues the same run: the canonical
    /// JSON of ``identityPlan``.
    public var checkpointIdentity: String { identityPlan.canonicalJSON }

    /// The SHA-256 of ``identityPlan``'s canonical JSON with the budget kept: names the run in
    /// result caches (two plans with the same fingerprint train the same weights).
    public var fingerprint: String {
        var plan = self
        plan.output = Output()
        return SHA256.hexDigest(plan.canonicalJSON)
    }
}

extension OptimizerSpecification {
    /// Checks the name and every hyper-parameter as building the optimizer would, without a model.
    /// - Throws: ``/NablaTensor/NablaError`` for an unknown optimizer, a key it does not read, or a bad value.
    public func validate() throws {
        let registration = try OptimizerRegistry.registration(named: name)
        let probe = Variable(Tensor<Float>([0]), requiresGradient: true)
        if decayWeightsOnly && registration.defaults["weight_decay"] == nil {
            throw NablaError(.invalidArgument, "decay_weights_only: optimizer \(registration.name) has no weight_decay")
        }
        _ = try registration.make([ParameterGroup([probe])], hyperparameters: hyperparameters)
    }
}
