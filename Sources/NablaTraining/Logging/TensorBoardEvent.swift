/// One TensorBoard `Event` record, encoded by hand in the protobuf wire format.
///
/// The messages and field numbers (tensorboard `compat/proto/event.proto` and `summary.proto`):
/// ```
/// message Event          { double wall_time = 1; int64 step = 2;
///                          oneof what { string file_version = 3; Summary summary = 5; ... } }
/// message Summary        { repeated Value value = 1; }
/// message Summary.Value  { string tag = 1; SummaryMetadata metadata = 9;
///                          oneof value { float simple_value = 2; HistogramProto histo = 5; ... } }
/// message SummaryMetadata { PluginData plugin_data = 1; ... }
/// message PluginData     { string plugin_name = 1; bytes content = 2; }
/// message HistogramProto { double min = 1, max = 2, num = 3, sum = 4, sum_squares = 5;
///                          repeated double bucket_limit = 6 [packed]; repeated double bucket = 7 [packed]; }
/// ```
/// Scalars use the legacy `simple_value` form and histograms the legacy `histo` form; TensorBoard's
/// data-compat layer converts both to its current tensor summaries when it loads them.
public struct TensorBoardEvent: Equatable, Sendable {
    /// One tagged value of a summary.
    public enum Value: Equatable, Sendable {
        /// `Summary.Value { tag, simple_value }`: one scalar, shown in TensorBoard's Scalars tab.
        case scalar(tag: String, value: Float)
        /// `Summary.Value { tag, histo }`: one histogram, shown in the Histograms and Distributions tabs.
        case histogram(tag: String, histogram: TensorBoardHistogram)
        /// A value that carries only plugin metadata (no `value`): how plugins such as HParams
        /// store their own protos (see ``HParamsExperiment``). TensorBoard's data-compat layer gives
        /// it an empty tensor when it loads it.
        case pluginData(tag: String, pluginName: String, content: [UInt8])
    }

    /// What the event carries.
    public enum Payload: Equatable, Sendable {
        /// The first event of every file: `"brain.Event:2"`.
        case fileVersion(String)
        /// `Event.summary`: values logged at the event's step.
        case summary([Value])
    }

    /// Seconds since 1970-01-01 UTC.
    public var wallTime: Double
    /// The global step the values belong to (`Event.step`).
    public var step: Int64
    /// What the event carries (`Event.what`).
    public var payload: Payload

    /// An event at `wallTime` seconds since 1970 and global `step`.
    public init(wallTime: Double, step: Int64, payload: Payload) {
        self.wallTime = wallTime
        self.step = step
        self.payload = payload
    }

    /// The version string TensorBoard expects in the first event of a file.
    public static let fileVersion = "brain.Event:2"

    /// The serialized `Event` message.
    public var encoded: [UInt8] {
        var event = ProtobufEncoder()
        event.appendDouble(field: 1, wallTime)
        event.appendInt64(field: 2, step)
        switch payload {
        case .fileVersion(let version):
            event.appendString(field: 3, version)
        case .summary(let values):
            var summary = ProtobufEncoder()
            for value in values {
                var entry = ProtobufEncoder()
                switch value {
                case .scalar(let tag, let scalar):
                    entry.appendString(field: 1, tag)
                    entry.appendFloat(field: 2, scalar)
                case .histogram(let tag, let histogram):
                    entry.appendString(field: 1, tag)
                    entry.appendMessage(field: 5, histogram.protobuf)
                case .pluginData(let tag, let pluginName, let content):
                    entry.appendString(field: 1, tag)
                    var pluginData = ProtobufEncoder()
                    pluginData.appendString(field: 1, pluginName)
                    pluginData.appendBytes(field: 2, content)
                    var metadata = ProtobufEncoder()
                    metadata.appendMessage(field: 1, pluginData)
                    entry.appendMessage(field: 9, metadata)
                }
                summary.appendMessage(field: 1, entry)
            }
            event.appendMessage(field: 5, summary)
        }
        return event.bytes
    }
}
