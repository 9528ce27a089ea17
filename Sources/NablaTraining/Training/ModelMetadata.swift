import Foundation
import NablaTensor
import NablaIO
import NablaNN
import NablaData

/// What a trained model needs besides its weights to be used on new data: its layers, the input
/// shape it was trained on, the per-channel normalization its inputs went through (`--normalize`),
/// the names of its classes and its loss. `nabla train` writes it into the `__metadata__` of every
/// weights file (`--save`, the checkpoint directory's `model.safetensors` and `best.safetensors`);
/// `nabla evaluate` and `nabla predict` read it back, so a model is used exactly as it was trained.
///
/// The keys are strings under the `nabla.` prefix, so the file stays a plain PyTorch state dict:
/// `safetensors.torch.load_file` ignores metadata, and `safe_open(f, "pt").metadata()` shows it.
///
/// | key | value |
/// |---|---|
/// | `nabla.version` | the ``NablaVersion`` that wrote the file |
/// | `nabla.model` | the layers as a model file (YAML), which `--model FILE.yaml` reads back |
/// | `nabla.model_name` | the `--model` it was built from (`lenet-bn`, `fcnet:100,100`, a file name) |
/// | `nabla.dropout_mode` | `vanilla` when its Dropout layers scale in evaluation (absent: inverted) |
/// | `nabla.input_shape` | the shape of one sample, JSON (`[1,28,28]`) |
/// | `nabla.normalization` | `{"mean":[…],"std":[…]}`, per channel (absent: raw inputs) |
/// | `nabla.class_names` | the class names by label, JSON (absent: classes are only numbers) |
/// | `nabla.loss` | the training loss (`cross-entropy`, `mse`, …) |
public struct ModelMetadata: Equatable, Sendable {
    /// The layers, as built (a built-in model resolved for its data), with ``inputShape``.
    public var model: ModelDescription?
    /// The `--model` value the layers came from.
    public var modelName: String?
    /// How the model's Dropout layers scale.
    public var dropoutMode: DropoutMode = .inverted
    /// The shape of one input sample.
    public var inputShape: [Int]?
    /// The per-channel standardization applied to inputs before the model sees them.
    public var normalization: ChannelNormalization?
    /// The name of each class, by label.
    public var classNames: [String]?
    /// The loss the model was trained with (``LossFunction/name``).
    public var loss: String?
    /// The Nabla version that wrote the metadata.
    public var version: String?

    /// Metadata with nothing known.
    public init() {}

    /// The key prefix of every entry.
    public static let prefix = "nabla."

    /// Whether nothing is known (a file not written by `nabla train`, such as PyTorch's).
    public var isEmpty: Bool { self == ModelMetadata() }

    /// The entries for a safetensors file's `__metadata__`.
    public var safetensorsMetadata: [String: String] {
        var entries: [String: String] = [:]
        func json<T: Encodable>(_ value: T) -> String {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            // Arrays of strings and finite numbers, and ChannelNormalization: always encodable.
            return String(decoding: (try? encoder.encode(value)) ?? Data("null".utf8), as: UTF8.self)
        }
        entries[Self.prefix + "version"] = version
        entries[Self.prefix + "model"] = model?.yaml
        entries[Self.prefix + "model_name"] = modelName
        if dropoutMode != .inverted { entries[Self.prefix + "dropout_mode"] = dropoutMode.rawValue }
        entries[Self.prefix + "input_shape"] = inputShape.map(json)
        entries[Self.prefix + "normalization"] = normalization.map(json)
        entries[Self.prefix + "class_names"] = classNames.map(json)
        entries[Self.prefix + "loss"] = loss
        return entries
    }

    /// Reads the `nabla.` entries of a safetensors file's metadata (others are ignored).
    /// - Throws: ``NablaError`` (`.invalidFile`) naming `source` and the key of a malformed entry.
    public init(safetensorsMetadata entries: [String: String], source: String) throws {
        func fail(_ key: String, _ problem: String) -> NablaError {
            NablaError(.invalidFile, "\(source): metadata '\(Self.prefix)\(key)' \(problem)")
        }
        func decode<T: Decodable>(_ type: T.Type, _ key: String) throws -> T? {
            guard let text = entries[Self.prefix + key] else { return nil }
            do { return try JSONDecoder().decode(T.self, from: Data(text.utf8)) } catch {
                throw fail(key, "is not valid (\(text.prefix(60)))")
            }
        }
        version = entries[Self.prefix + "version"]
        modelName = entries[Self.prefix + "model_name"]
        loss = entries[Self.prefix + "loss"]
        if let yaml = entries[Self.prefix + "model"] {
            do { model = try ModelDescription.parse(yaml, name: modelName ?? "model") } catch let error as NablaError {
                throw fail("model", "is not a valid model description: \(error.message)")
            }
        }
        if let mode = entries[Self.prefix + "dropout_mode"] {
            guard let parsed = DropoutMode(rawValue: mode) else { throw fail("dropout_mode", "is '\(mode)', expected inverted or vanilla") }
            dropoutMode = parsed
        }
        inputShape = try decode([Int].self, "input_shape")
        if let shape = inputShape, shape.isEmpty || shape.contains(where: { $0 < 1 }) {
            throw fail("input_shape", "is \(shape), expected positive sizes")
        }
        model?.inputShape = inputShape      // the model file text has no input shape of its own
        if let stored = try decode(StoredNormalization.self, "normalization") {
            guard stored.mean.count == stored.std.count, !stored.mean.isEmpty,
                  stored.mean.allSatisfy(\.isFinite), stored.std.allSatisfy({ $0.isFinite && $0 >= 0 }) else {
                throw fail("normalization", "needs as many finite means as finite, non-negative standard deviations")
            }
            normalization = ChannelNormalization(mean: stored.mean, std: stored.std)
        }
        classNames = try decode([String].self, "class_names")
    }

    /// The shape ChannelNormalization encodes to, read without its preconditions.
    private struct StoredNormalization: Decodable {
        var mean: [Float]
        var std: [Float]
    }

    /// Reads a weights file and its metadata.
    /// - Throws: ``NablaError`` for an unreadable file or malformed metadata, naming the file.
    public static func read(from url: URL) throws -> (file: SafeTensorsFile, metadata: ModelMetadata) {
        let file = try SafeTensorsFile.read(from: url)
        return (file, try ModelMetadata(safetensorsMetadata: file.metadata, source: url.path))
    }
}

extension TrainingSession {
    /// The metadata of this session's model: its layers, input shape, normalization, class names
    /// and loss, as `nabla train` saves them with the weights.
    public var metadata: ModelMetadata {
        var metadata = ModelMetadata()
        metadata.version = NablaVersion.current
        metadata.model = modelDescription
        metadata.model?.inputShape = data.train.sampleShape
        metadata.modelName = plan.model.description == nil ? plan.model.name : plan.model.description?.name
        metadata.dropoutMode = plan.model.dropoutMode
        metadata.inputShape = data.train.sampleShape
        metadata.normalization = data.normalization.map { ChannelNormalization(mean: $0.mean, std: $0.std) }
        metadata.classNames = data.train.classNames
        metadata.loss = loss.name
        return metadata
    }
}
