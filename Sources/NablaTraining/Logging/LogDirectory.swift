import Foundation
import NablaTensor
import NablaIO

/// Where a run's logs go when `--logdir DIR` may already hold another run's: never into the same
/// event files and `metrics.csv` as an earlier run, where TensorBoard would draw both runs' steps as
/// one tangled curve.
///
/// - `DIR` holds no logs: the run logs there.
/// - `DIR` holds the logs of the run being resumed (`--resume`): the run continues them there.
/// - `DIR` holds other logs: the run logs into the first free `DIR/run-2`, `DIR/run-3`, … —
///   TensorBoard, pointed at `DIR`, shows each as its own run — or, with `overwrite`, into `DIR`
///   after deleting the old logs (event files, `metrics.csv`, `metrics.jsonl`).
///
/// Each log directory records whose logs it holds in `run.json`: a hash of the run's checkpoint
/// identity and checkpoint directory, which is how a resumed run finds its logs again, in `DIR` or
/// in one of its `run-N` sub-directories.
public enum LogDirectory {
    /// The marker file naming the run whose logs a directory holds.
    public static let markerName = "run.json"

    /// Whether `url` holds logs: a TensorBoard event file, `metrics.csv` or `metrics.jsonl`.
    public static func holdsLogs(_ url: URL) -> Bool {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: url.path)) ?? []
        return names.contains { $0.contains("tfevents") || $0 == "metrics.csv" || $0 == "metrics.jsonl" }
    }

    /// The identity a run's marker records: the SHA-256 of its checkpoint identity and checkpoint directory.
    public static func runIdentity(checkpointIdentity: String, checkpointDirectory: String?) -> String {
        let directory = checkpointDirectory.map { URL(fileURLWithPath: $0).standardizedFileURL.path } ?? ""
        return SHA256.hexDigest(checkpointIdentity + "\n" + directory)
    }

    /// The directory the run identified by `identity` logs to when `requested` is asked for (see the
    /// type's description), with its marker written. `resuming`: the run continues a checkpoint.
    /// - Throws: ``NablaError`` (`.io`) when a directory or the marker cannot be written, or old logs
    ///   cannot be deleted.
    public static func resolve(_ requested: URL, identity: String, resuming: Bool, overwrite: Bool) throws -> URL {
        let fm = FileManager.default
        var chosen = requested
        if resuming, let own = candidates(requested).first(where: { marker(in: $0) == identity }) {
            chosen = own
        } else if holdsLogs(requested) {
            if overwrite {
                let names = (try? fm.contentsOfDirectory(atPath: requested.path)) ?? []
                for name in names where name.contains("tfevents") || ["metrics.csv", "metrics.jsonl", markerName].contains(name) {
                    do { try fm.removeItem(at: requested.appendingPathComponent(name)) } catch {
                        throw NablaError(.io, "\(requested.appendingPathComponent(name).path): cannot delete the old log (--overwrite)")
                    }
                }
            } else {
                var n = 2
                while holdsLogs(requested.appendingPathComponent("run-\(n)")) { n += 1 }
                chosen = requested.appendingPathComponent("run-\(n)")
            }
        }
        do {
            try fm.createDirectory(at: chosen, withIntermediateDirectories: true)
            try AtomicFile.write(Data("{\"run\": \"\(identity)\"}\n".utf8), to: chosen.appendingPathComponent(markerName))
        } catch let error as NablaError {
            throw error
        } catch {
            throw NablaError(.io, "\(chosen.path): cannot create the log directory")
        }
        return chosen
    }

    /// `requested` and its `run-N` sub-directories.
    static func candidates(_ requested: URL) -> [URL] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: requested.path)) ?? []
        let runs = names.filter { $0.hasPrefix("run-") && Int($0.dropFirst(4)) != nil }.sorted { Int($0.dropFirst(4))! < Int($1.dropFirst(4))! }
        return [requested] + runs.map { requested.appendingPathComponent($0) }
    }

    /// The run identity recorded in `directory`'s marker, if any.
    static func marker(in directory: URL) -> String? {
        guard let data = try? Data(contentsOf: directory.appendingPathComponent(markerName)),
              let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any] else { return nil }
        return object["run"] as? String
    }
}
