import NablaTensor

// Encoding an optimizer's typed options to `Hyperparameters` and decoding them back. The options
// are flat structs whose `CodingKeys` are PyTorch's `param_groups` keys and whose properties are
// `Double`, `Float`, `Int`, `Bool` or `HyperparameterPair`; nothing else is supported (a
// programmer error, caught the first time the type is registered or built).

extension Hyperparameters {
    /// The hyper-parameters `options` encodes, in encoding order (the order of its `CodingKeys`
    /// when the conformance is synthesized).
    /// - Precondition: `options` encodes a keyed container of numbers, flags and pairs only.
    public init<Options: Encodable>(encoding options: Options) {
        let encoder = HyperparameterEncoder()
        do {
            try options.encode(to: encoder)
        } catch {
            preconditionFailure("\(Options.self) is not a flat struct of numbers, flags and pairs: \(error)")
        }
        self = encoder.values
    }

    /// Decodes typed options from these values.
    /// - Throws: ``/NablaTensor/NablaError`` naming the key when one is missing or holds the wrong kind of value
    ///   (`context` starts the message, e.g. `"SGD"`).
    public func decode<Options: Decodable>(_ type: Options.Type, context: String) throws -> Options {
        do {
            return try Options(from: HyperparameterDecoder(values: self))
        } catch let error as DecodingError {
            switch error {
            case .keyNotFound(let key, _):
                throw NablaError(.missingKey, "\(context): missing hyper-parameter '\(key.stringValue)'")
            case .typeMismatch(_, let c), .valueNotFound(_, let c), .dataCorrupted(let c):
                let key = c.codingPath.first?.stringValue ?? "?"
                throw NablaError(.invalidArgument, "\(context): hyper-parameter '\(key)' \(c.debugDescription)")
            @unknown default:
                throw NablaError(.invalidArgument, "\(context): \(error)")
            }
        }
    }
}

// MARK: - Encoder

private final class HyperparameterEncoder: Encoder {
    var codingPath: [CodingKey] = []
    var userInfo: [CodingUserInfoKey: Any] = [:]
    var values = Hyperparameters()

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
        KeyedEncodingContainer(Container<Key>(encoder: self))
    }

    func unkeyedContainer() -> UnkeyedEncodingContainer {
        preconditionFailure("optimizer options must encode a keyed container, not a list")
    }

    func singleValueContainer() -> SingleValueEncodingContainer {
        preconditionFailure("optimizer options must encode a keyed container, not a single value")
    }

    struct Container<Key: CodingKey>: KeyedEncodingContainerProtocol {
        let encoder: HyperparameterEncoder
        var codingPath: [CodingKey] { [] }

        func set(_ value: Hyperparameters.Value, _ key: Key) { encoder.values[key.stringValue] = value }

        func unsupported(_ value: Any, _ key: Key) -> EncodingError {
            EncodingError.invalidValue(value, .init(codingPath: [key], debugDescription: "'\(key.stringValue)' has unsupported type \(type(of: value))"))
        }

        mutating func encodeNil(forKey key: Key) throws {}
        mutating func encode(_ value: Bool, forKey key: Key) throws { set(.flag(value), key) }
        mutating func encode(_ value: Double, forKey key: Key) throws { set(.number(value), key) }
        mutating func encode(_ value: Float, forKey key: Key) throws { set(.number(Double(value)), key) }
        mutating func encode(_ value: Int, forKey key: Key) throws { set(.number(Double(value)), key) }
        mutating func encode(_ value: String, forKey key: Key) throws { throw unsupported(value, key) }
        mutating func encode(_ value: Int8, forKey key: Key) throws { throw unsupported(value, key) }
        mutating func encode(_ value: Int16, forKey key: Key) throws { throw unsupported(value, key) }
        mutating func encode(_ value: Int32, forKey key: Key) throws { throw unsupported(value, key) }
        mutating func encode(_ value: Int64, forKey key: Key) throws { throw unsupported(value, key) }
        mutating func encode(_ value: UInt, forKey key: Key) throws { throw unsupported(value, key) }
        mutating func encode(_ value: UInt8, forKey key: Key) throws { throw unsupported(value, key) }
        mutating func encode(_ value: UInt16, forKey key: Key) throws { throw unsupported(value, key) }
        mutating func encode(_ value: UInt32, forKey key: Key) throws { throw unsupported(value, key) }
        mutating func encode(_ value: UInt64, forKey key: Key) throws { throw unsupported(value, key) }

        mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
            switch value {
            case let x as Double: set(.number(x), key)
            case let x as Float: set(.number(Double(x)), key)
            case let x as Int: set(.number(Double(x)), key)
            case let x as Bool: set(.flag(x), key)
            case let pair as HyperparameterPair: set(.pair(pair.first, pair.second), key)
            default: throw unsupported(value, key)
            }
        }

        mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key) -> KeyedEncodingContainer<NestedKey> {
            preconditionFailure("optimizer options cannot nest containers ('\(key.stringValue)')")
        }
        mutating func nestedUnkeyedContainer(forKey key: Key) -> UnkeyedEncodingContainer {
            preconditionFailure("optimizer options cannot nest containers ('\(key.stringValue)')")
        }
        mutating func superEncoder() -> Encoder { preconditionFailure("optimizer options have no superclass") }
        mutating func superEncoder(forKey key: Key) -> Encoder { preconditionFailure("optimizer options have no superclass") }
    }
}

// MARK: - Decoder

private struct HyperparameterDecoder: Decoder {
    let values: Hyperparameters
    var codingPath: [CodingKey] { [] }
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        KeyedDecodingContainer(Container<Key>(values: values))
    }

    func unkeyedContainer() throws -> UnkeyedDecodingContainer {
        throw DecodingError.typeMismatch([Any].self, .init(codingPath: [], debugDescription: "hyper-parameters are keyed"))
    }

    func singleValueContainer() throws -> SingleValueDecodingContainer {
        throw DecodingError.typeMismatch(Any.self, .init(codingPath: [], debugDescription: "hyper-parameters are keyed"))
    }

    struct Container<Key: CodingKey>: KeyedDecodingContainerProtocol {
        let values: Hyperparameters
        var codingPath: [CodingKey] { [] }
        var allKeys: [Key] { values.keys.compactMap { Key(stringValue: $0) } }

        func contains(_ key: Key) -> Bool { values[key.stringValue] != nil }

        func value(_ key: Key) throws -> Hyperparameters.Value {
            guard let value = values[key.stringValue] else {
                throw DecodingError.keyNotFound(key, .init(codingPath: [key], debugDescription: "missing"))
            }
            return value
        }

        func mismatch<T>(_ type: T.Type, _ key: Key, _ expected: String, _ value: Hyperparameters.Value) -> DecodingError {
            DecodingError.typeMismatch(type, .init(codingPath: [key], debugDescription: "must be \(expected), got \(value)"))
        }

        func number(_ key: Key) throws -> Double {
            let value = try value(key)
            guard case .number(let x) = value else { throw mismatch(Double.self, key, "a number", value) }
            return x
        }

        func decodeNil(forKey key: Key) throws -> Bool { false }

        func decode(_ type: Bool.Type, forKey key: Key) throws -> Bool {
            let value = try value(key)
            guard case .flag(let b) = value else { throw mismatch(type, key, "a flag (true or false)", value) }
            return b
        }

        func decode(_ type: Double.Type, forKey key: Key) throws -> Double { try number(key) }
        func decode(_ type: Float.Type, forKey key: Key) throws -> Float { Float(try number(key)) }

        func decode(_ type: Int.Type, forKey key: Key) throws -> Int {
            let x = try number(key)
            guard x == x.rounded(), abs(x) < 1e15 else { throw mismatch(type, key, "a whole number", .number(x)) }
            return Int(x)
        }

        func unsupported<T>(_ type: T.Type, _ key: Key) -> DecodingError {
            DecodingError.typeMismatch(type, .init(codingPath: [key], debugDescription: "has unsupported type \(type)"))
        }

        func decode(_ type: String.Type, forKey key: Key) throws -> String { throw unsupported(type, key) }
        func decode(_ type: Int8.Type, forKey key: Key) throws -> Int8 { throw unsupported(type, key) }
        func decode(_ type: Int16.Type, forKey key: Key) throws -> Int16 { throw unsupported(type, key) }
        func decode(_ type: Int32.Type, forKey key: Key) throws -> Int32 { throw unsupported(type, key) }
        func decode(_ type: Int64.Type, forKey key: Key) throws -> Int64 { throw unsupported(type, key) }
        func decode(_ type: UInt.Type, forKey key: Key) throws -> UInt { throw unsupported(type, key) }
        func decode(_ type: UInt8.Type, forKey key: Key) throws -> UInt8 { throw unsupported(type, key) }
        func decode(_ type: UInt16.Type, forKey key: Key) throws -> UInt16 { throw unsupported(type, key) }
        func decode(_ type: UInt32.Type, forKey key: Key) throws -> UInt32 { throw unsupported(type, key) }
        func decode(_ type: UInt64.Type, forKey key: Key) throws -> UInt64 { throw unsupported(type, key) }

        func decode<T: Decodable>(_ type: T.Type, forKey key: Key) throws -> T {
            if type == Double.self { return try decode(Double.self, forKey: key) as! T }
            if type == Float.self { return try decode(Float.self, forKey: key) as! T }
            if type == Int.self { return try decode(Int.self, forKey: key) as! T }
            if type == Bool.self { return try decode(Bool.self, forKey: key) as! T }
            if type == HyperparameterPair.self {
                let value = try value(key)
                guard case .pair(let a, let b) = value else { throw mismatch(type, key, "a pair of numbers", value) }
                return HyperparameterPair(a, b) as! T
            }
            throw unsupported(type, key)
        }

        func nestedContainer<NestedKey: CodingKey>(keyedBy type: NestedKey.Type, forKey key: Key) throws -> KeyedDecodingContainer<NestedKey> {
            throw unsupported(type, key)
        }
        func nestedUnkeyedContainer(forKey key: Key) throws -> UnkeyedDecodingContainer { throw unsupported([Any].self, key) }
        func superDecoder() throws -> Decoder { self.decoder }
        func superDecoder(forKey key: Key) throws -> Decoder { self.decoder }
        private var decoder: HyperparameterDecoder { HyperparameterDecoder(values: values) }
    }
}
