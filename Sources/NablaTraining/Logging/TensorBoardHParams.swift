import Foundation

/// A hyper-parameter value for TensorBoard's HParams dashboard (a `google.protobuf.Value`).
public enum HParamValue: Equatable, Sendable, Codable {
    case number(Double)
    case string(String)
    case bool(Bool)

    /// `google.protobuf.Value`: `number_value = 2` (double), `string_value = 3`, `bool_value = 4`.
    var protobuf: ProtobufEncoder {
        var value = ProtobufEncoder()
        switch self {
        case .number(let x): value.appendDouble(field: 2, x)
        case .string(let s): value.appendString(field: 3, s)
        case .bool(let b):
            value.appendKey(field: 4, wireType: .varint)
            value.appendVarint(b ? 1 : 0)
        }
        return value
    }

    /// The `hparams` `DataType` of the value: `DATA_TYPE_STRING = 1`, `DATA_TYPE_BOOL = 2`,
    /// `DATA_TYPE_FLOAT64 = 3`.
    var dataType: UInt64 {
        switch self {
        case .string: return 1
        case .bool: return 2
        case .number: return 3
        }
    }
}

/// The experiment of TensorBoard's HParams dashboard: which hyper-parameters and which metrics
/// (scalar tags) the dashboard shows as columns for the sessions (runs) below its directory.
///
/// The protos are tensorboard's `plugins/hparams/api.proto` and `plugin_data.proto` (plugin data
/// version 0), written as PyTorch's `torch.utils.tensorboard.summary.hparams` writes them: a
/// `Summary.Value` with tag `_hparams_/experiment` (or `_hparams_/session_start_info`,
/// `_hparams_/session_end_info`), no value, and `metadata.plugin_data = {plugin_name: "hparams",
/// content: HParamsPluginData}`:
/// ```
/// message HParamsPluginData { int32 version = 1; oneof data { Experiment experiment = 2;
///                             SessionStartInfo session_start_info = 3; SessionEndInfo session_end_info = 4; } }
/// message Experiment        { string description = 1; repeated HParamInfo hparam_infos = 4;
///                             repeated MetricInfo metric_infos = 5; string name = 6; ... }
/// message HParamInfo        { string name = 1; string display_name = 2; string description = 3; DataType type = 4;
///                             oneof domain { ListValue domain_discrete = 5; Interval domain_interval = 6; } }
/// message MetricInfo        { MetricName name = 1; string display_name = 3; string description = 4; DatasetType dataset_type = 5; }
/// message MetricName        { string group = 1; string tag = 2; }
/// message SessionStartInfo  { map<string, google.protobuf.Value> hparams = 1; string group_name = 4; double start_time_secs = 5; }
/// message SessionEndInfo    { Status status = 1; double end_time_secs = 2; }
/// ```
/// A session is one run directory holding a session-start summary, its metric scalars and a
/// session-end summary; the experiment lives in the directory TensorBoard is pointed at (or above
/// the sessions). Sessions with the same `group_name` are averaged into one row of the dashboard.
public struct HParamsExperiment: Equatable, Sendable {
    /// A hyper-parameter column.
    public struct HParam: Equatable, Sendable {
        /// The hyper-parameter's name, as in the sessions' `hparams` maps.
        public var name: String
        /// A description shown by the dashboard.
        public var description: String
        /// The values it takes, when they form a small set (shown as a filter); `nil`: any.
        public var values: [HParamValue]?
        /// Its type (the type of its values); `.number(0)` for numbers.
        public var example: HParamValue

        /// A hyper-parameter column (see the properties).
        public init(name: String, description: String = "", example: HParamValue, values: [HParamValue]? = nil) {
            self.name = name
            self.description = description
            self.example = example
            self.values = values
        }
    }

    /// A metric column: a scalar tag that every session logs.
    public struct Metric: Equatable, Sendable {
        /// The scalar's tag (`final/test_accuracy`).
        public var tag: String
        /// The column's title; empty: the tag.
        public var displayName: String
        /// A description shown by the dashboard.
        public var description: String
        /// Whether the metric is measured on training (`DATASET_TRAINING = 1`) or held-out data
        /// (`DATASET_VALIDATION = 2`), or unspecified (0).
        public var datasetType: Int

        /// A metric column (see the properties).
        public init(tag: String, displayName: String = "", description: String = "", datasetType: Int = 0) {
            self.tag = tag
            self.displayName = displayName
            self.description = description
            self.datasetType = datasetType
        }
    }

    /// The experiment's name.
    public var name: String
    /// A description of the experiment.
    public var description: String
    /// The hyper-parameter columns.
    public var hparams: [HParam]
    /// The metric columns.
    public var metrics: [Metric]

    /// An experiment of `hparams` and `metrics` columns.
    public init(name: String = "", description: String = "", hparams: [HParam], metrics: [Metric]) {
        self.name = name
        self.description = description
        self.hparams = hparams
        self.metrics = metrics
    }

    /// The `Experiment` message.
    var protobuf: ProtobufEncoder {
        var experiment = ProtobufEncoder()
        if !description.isEmpty { experiment.appendString(field: 1, description) }
        for h in hparams {
            var info = ProtobufEncoder()
            info.appendString(field: 1, h.name)
            if !h.description.isEmpty { info.appendString(field: 3, h.description) }
            info.appendKey(field: 4, wireType: .varint)
            info.appendVarint(h.example.dataType)
            if let values = h.values {
                var list = ProtobufEncoder()
                for v in values { list.appendMessage(field: 1, v.protobuf) }
                info.appendMessage(field: 5, list)
            }
            experiment.appendMessage(field: 4, info)
        }
        for m in metrics {
            var metricName = ProtobufEncoder()
            metricName.appendString(field: 2, m.tag)
            var info = ProtobufEncoder()
            info.appendMessage(field: 1, metricName)
            if !m.displayName.isEmpty { info.appendString(field: 3, m.displayName) }
            if !m.description.isEmpty { info.appendString(field: 4, m.description) }
            if m.datasetType != 0 {
                info.appendKey(field: 5, wireType: .varint)
                info.appendVarint(UInt64(m.datasetType))
            }
            experiment.appendMessage(field: 5, info)
        }
        if !name.isEmpty { experiment.appendString(field: 6, name) }
        return experiment
    }
}

/// How a session (run) ended, for the HParams dashboard (`Status` of `api.proto`).
public enum HParamsSessionStatus: UInt64, Sendable {
    case unknown = 0, success = 1, failure = 2, running = 3
}

enum HParamsPlugin {
    static let name = "hparams"
    static let experimentTag = "_hparams_/experiment"
    static let sessionStartTag = "_hparams_/session_start_info"
    static let sessionEndTag = "_hparams_/session_end_info"

    /// `HParamsPluginData { version = 0; <field> = data }` as a summary value with tag `tag`.
    static func value(tag: String, field: Int, data: ProtobufEncoder) -> TensorBoardEvent.Value {
        var content = ProtobufEncoder()
        content.appendMessage(field: field, data)  // version 0 is proto3's default: not written
        return .pluginData(tag: tag, pluginName: name, content: content.bytes)
    }

    static func sessionStart(hparams: [(name: String, value: HParamValue)], groupName: String?, startTime: Double) -> TensorBoardEvent.Value {
        var info = ProtobufEncoder()
        for (name, value) in hparams {
            var entry = ProtobufEncoder()
            entry.appendString(field: 1, name)
            entry.appendMessage(field: 2, value.protobuf)
            info.appendMessage(field: 1, entry)
        }
        if let groupName, !groupName.isEmpty { info.appendString(field: 4, groupName) }
        info.appendDouble(field: 5, startTime)
        return value(tag: sessionStartTag, field: 3, data: info)
    }

    static func sessionEnd(status: HParamsSessionStatus, endTime: Double) -> TensorBoardEvent.Value {
        var info = ProtobufEncoder()
        info.appendKey(field: 1, wireType: .varint)
        info.appendVarint(status.rawValue)
        info.appendDouble(field: 2, endTime)
        return value(tag: sessionEndTag, field: 4, data: info)
    }
}

extension SummaryWriter {
    /// Declares the HParams dashboard's columns for the sessions in and below this writer's
    /// directory (write it once, in the directory `tensorboard --logdir` points at).
    public func addHParamsExperiment(_ experiment: HParamsExperiment, wallTime: Double? = nil) throws {
        try add(TensorBoardEvent(wallTime: wallTime ?? Date().timeIntervalSince1970, step: 0,
                                 payload: .summary([HParamsPlugin.value(tag: HParamsPlugin.experimentTag, field: 2, data: experiment.protobuf)])))
    }

    /// Makes this writer's directory one session of the HParams dashboard: the session's
    /// hyper-parameters, its final `metrics` as scalars at `step` (tags as declared in the
    /// experiment), and its end. Like PyTorch's `SummaryWriter.add_hparams`, but in this run's own
    /// directory, beside its other scalars.
    /// - Parameters:
    ///   - groupName: sessions with the same group (e.g. one variant over several seeds) are
    ///     aggregated into one row of the dashboard; `nil` keeps them apart.
    public func addHParams(_ hparams: [(name: String, value: HParamValue)], metrics: [(tag: String, value: Double)],
                           step: Int, groupName: String? = nil, status: HParamsSessionStatus = .success,
                           startTime: Double? = nil, endTime: Double? = nil) throws {
        let now = Date().timeIntervalSince1970
        try add(TensorBoardEvent(wallTime: startTime ?? now, step: 0,
                                 payload: .summary([HParamsPlugin.sessionStart(hparams: hparams, groupName: groupName, startTime: startTime ?? now)])))
        if !metrics.isEmpty { try addScalars(metrics, step: step, wallTime: endTime ?? now) }
        try add(TensorBoardEvent(wallTime: endTime ?? now, step: Int64(step),
                                 payload: .summary([HParamsPlugin.sessionEnd(status: status, endTime: endTime ?? now)])))
    }
}
