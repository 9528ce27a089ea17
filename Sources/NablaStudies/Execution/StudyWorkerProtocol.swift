import Foundation
import NablaTensor
import NablaTraining

/// The line protocol between a study and its worker processes (`nabla study worker`).
///
/// The study writes one ``StudyJob`` per line (compact JSON) to the worker's standard input; the
/// worker runs it with ``StudyWorker/perform(_:onEpoch:)`` and answers on standard output with one
/// ``Message`` per line: an `epoch` message after every epoch, then exactly one `result` or `error`
/// message. It then reads the next job, until its input ends. One worker runs one job at a time.
public enum StudyWorkerProtocol {
    /// A line from a worker.
    public struct Message: Codable, Sendable {
        /// An epoch of the current job finished.
        public var epoch: StudyRunResult.Epoch?
        /// The current job finished.
        public var result: StudyRunResult?
        /// The current job failed: the one-line message and ``NablaError/Kind`` of its error.
        public var error: String?
        /// The ``NablaError/Kind`` raw value of ``error`` (so the study rethrows the same kind).
        public var kind: String?

        /// A message; exactly one of `epoch`, `result` and `error` is set.
        public init(epoch: StudyRunResult.Epoch? = nil, result: StudyRunResult? = nil, error: String? = nil, kind: String? = nil) {
            self.epoch = epoch
            self.result = result
            self.error = error
            self.kind = kind
        }

        /// The message as one line of JSON (no line break).
        public var line: String {
            (try? StudyJSON.encoder.encode(self)).map { String(decoding: $0, as: UTF8.self) } ?? #"{"error":"unencodable message"}"#
        }

        /// Decodes a line written by ``line``.
        public init(line: String) throws {
            self = try StudyJSON.decoder.decode(Message.self, from: Data(line.utf8))
        }
    }

    /// The job as one line of JSON.
    public static func line(for job: StudyJob) throws -> String {
        String(decoding: try StudyJSON.encoder.encode(job), as: UTF8.self)
    }

    /// Runs jobs until `readLine` returns `nil`: every line is a job, every job gets its messages
    /// written through `write` (one line each, without the line break). A line that is not a job,
    /// or a job that fails, gets an `error` message; the worker then goes on with the next line.
    public static func serve(worker: StudyWorker = StudyWorker(), readLine: () -> String?, write: (String) -> Void) {
        while let line = readLine() {
            guard !line.trimmingCharacters(in: .whitespaces).isEmpty else { continue }
            do {
                let job = try StudyJSON.decoder.decode(StudyJob.self, from: Data(line.utf8))
                let result = try withoutActuallyEscaping(write) { write in
                    try worker.perform(job) { epoch in write(Message(epoch: epoch).line) }
                }
                write(Message(result: result).line)
            } catch let error as NablaError {
                write(Message(error: error.message, kind: error.kind.rawValue).line)
            } catch is DecodingError {
                write(Message(error: "the worker's input is not a study job", kind: NablaError.Kind.invalidArgument.rawValue).line)
            } catch {
                write(Message(error: "\(error)", kind: NablaError.Kind.io.rawValue).line)
            }
        }
    }
}
