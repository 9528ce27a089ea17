import Foundation

/// Where `count` threads standing in for the ranks of a job meet: each ``exchange(rank:_:)`` returns
/// every rank's contribution, in rank order, once all `count` ranks have called it — the semantics
/// of an MPI allgather, used by the tests that run replicas or ranks as threads of one process.
public final class ThreadRendezvous<Value>: @unchecked Sendable {
    /// The number of ranks that meet.
    public let count: Int
    private let condition = NSCondition()
    private var contributions: [Value?]
    private var arrived = 0
    private var round = 0
    private var completed: [Value] = []

    /// A rendezvous of `count` ranks.
    public init(count: Int) {
        precondition(count >= 1, "ThreadRendezvous needs at least one rank")
        self.count = count
        contributions = Array(repeating: nil, count: count)
    }

    /// Every rank's `value`, once all ranks have called (each rank calls once per round).
    public func exchange(rank: Int, _ value: Value) -> [Value] {
        condition.lock()
        defer { condition.unlock() }
        let myRound = round
        contributions[rank] = value
        arrived += 1
        if arrived == count {
            completed = contributions.map { $0! }
            contributions = Array(repeating: nil, count: count)
            arrived = 0
            round += 1
            condition.broadcast()
        } else {
            while round == myRound { condition.wait() }
        }
        return completed
    }
}
