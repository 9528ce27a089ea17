import Foundation
import NablaTensor

/// TensorBoard's HParams dashboard records: a run's hyper-parameters when it starts and its status
/// when it ends, so that the dashboard's table and parallel-coordinates view compare runs by their
/// settings and final metrics (`torch.utils.tensorboard.SummaryWriter.add_hparams` writes the same).
///
/// The messages (tensorboard `plugins/hparams/plugin_data.proto`, `api.proto`, and
/// `google/protobuf/struct.proto`), each the `content` of a summary value whose plugin is `"hparams"`:
/// ```
/// message HParamsPluginData { int32 version = 1;
///                             oneof data { SessionStartInfo session_start_info = 3; SessionEndInfo session_end_info = 4; ... } }
/// message SessionStartInfo  { map<string, google.protobuf.Value> hparams = 1; string group_name = 4; double start_time_secs = 5; }
/// message SessionEndInfo    { Status status = 1; double end_time_secs = 2; }
/// message Value             { oneof kind { double number_value = 2; string string_value = 3; bool bool_value = 4; ... } }
/// ```
/// under the tags `_hparams_/session_start_info` and `_hparams_/session_end_info`. No `Experiment`
/// record is written: TensorBoard then infers the hyper-parameter columns from the runs' start
/// records and the metric columns from their scalar tags.
public enum TensorBoardHParams {
    /// A hyper-parameter's value: a number, a string or a Boolean (`google.protobuf.Value`).
    public enum Value: Equatable, Sendable {
        /// `number_value`.
        case number(Double)
        /// `string_value`.
        case string(String)
        /// `bool_value`.
        case bool(Bool)
    }

    /// How a run ended (`tensorboard.hparams.Status`).
    public enum Status: Int, Sendable {
        /// `STATUS_UNKNOWN`.
        case unknown = 0
        /// `STATUS_SUCCESS`: the run finished.
        case success = 1
        /// `STATUS_FAILURE`: the run stopped with an error (diverged, say).
        case failure = 2
        /// `STATUS_RUNNING`.
        case running = 3
    }

    /// `"hparams"`, the plugin's name.
    public static let pluginName = "hparams"
    /// The tag of the start record.
    public static let sessionStartTag = "_hparams_/session_start_info"
    /// The tag of the end record.
    public static let sessionEndTag = "_hparams_/session_end_info"

    /// The summary value that starts a run with `hyperparameters` (written in key order, which
    /// the protobuf map does not keep anyway) at `startTime` seconds since 1970.
    public static func sessionStart(_ hyperparameters: [String: Value], startTime: Double) -> TensorBoardEvent.Value {
        var info = ProtobufEncoder()
        for (key, value) in hyperparameters.sorted(by: { $0.key < $1.key }) {
            var encoded = ProtobufEncoder()
            switch value {
            case .number(let x): encoded.appendDouble(field: 2, x)
            case .string(let text): encoded.appendString(field: 3, text)
            case .bool(let flag):
                encoded.appendKey(field: 4, wireType: .varint)
                encoded.appendVarint(flag ? 1 : 0)
            }
            var entry = ProtobufEncoder()
            entry.appendString(field: 1, key)
            entry.appendMessage(field: 2, encoded)
            info.appendMessage(field: 1, entry)
        }
        info.appendDouble(field: 5, startTime)
        var data = ProtobufEncoder()
        data.appendMessage(field: 3, info)
        return .plugin(tag: sessionStartTag, pluginName: pluginName, content: data.bytes)
    }

    /// The summary value that ends a run with `status` at `endTime` seconds since 1970.
    public static func sessionEnd(_ status: Status, endTime: Double) -> TensorBoardEvent.Value {
        var info = ProtobufEncoder()
        if status != .unknown { info.appendInt64(field: 1, Int64(status.rawValue)) }
        info.appendDouble(field: 2, endTime)
        var data = ProtobufEncoder()
        data.appendMessage(field: 4, info)
        return .plugin(tag: sessionEndTag, pluginName: pluginName, content: data.bytes)
    }
}
