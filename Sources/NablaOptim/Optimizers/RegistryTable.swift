import Foundation

/// An entry of a registry: the names it is found by and what makes two registrations the same.
protocol RegistryEntry: Sendable {
    /// The names this entry is looked up by, lower-cased.
    var lookupNames: [String] { get }
    /// Equal for two registrations of the same thing (registering it again is then a no-op).
    var identity: String { get }
}

/// The thread-safe table behind ``OptimizerRegistry`` and ``ScheduleRegistry``: entries in
/// registration order, the built-ins first, found by lower-cased name.
final class RegistryTable<Entry: RegistryEntry>: @unchecked Sendable {
    private let lock = NSLock()
    private var entries: [Entry] = []
    private var index: [String: Int] = [:]
    /// What the registry holds, in messages (`"optimizer"`).
    private let noun: String

    init(_ noun: String, builtIns: [Entry]) {
        self.noun = noun
        for entry in builtIns { register(entry) }
    }

    private func locked<T>(_ body: () -> T) -> T {
        lock.lock()
        defer { lock.unlock() }
        return body()
    }

    /// Every entry, in registration order.
    var all: [Entry] { locked { entries } }

    /// The entry registered under `name` (any case), or `nil`.
    func entry(named name: String) -> Entry? {
        locked { index[name.lowercased()].map { entries[$0] } }
    }

    /// Adds `entry`, or does nothing if the same entry is registered already.
    /// - Precondition: none of its names belongs to another entry.
    func register(_ entry: Entry) {
        locked {
            let taken = entry.lookupNames.compactMap { index[$0] }
            if let first = taken.first {
                precondition(Set(taken).count == 1 && entries[first].identity == entry.identity
                             && entries[first].lookupNames == entry.lookupNames,
                             "\(noun) name '\(entry.lookupNames[0])' is already registered by \(entries[first].identity)")
                return
            }
            for name in entry.lookupNames { index[name] = entries.count }
            entries.append(entry)
        }
    }
}
