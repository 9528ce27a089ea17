#!/usr/bin/env python3
"""Loads a TensorBoard log directory with the real `tensorboard` package and prints what it saw.

Usage: check_tensorboard.py LOGDIR

Reads LOGDIR with tensorboard.backend.event_processing.event_accumulator.EventAccumulator (which
verifies every record's masked CRC32C and parses the Event protobufs), checks the data for
consistency, and prints one JSON object to stdout:

    {"tensorboard_version": "...",
     "file_version": "brain.Event:2",
     "scalars":    {tag: [[step, value], ...]},
     "histograms": {tag: [{"step", "num", "min", "max", "sum", "sum_squares",
                           "bucket_total", "bucket_count"}, ...]},
     "hparams": {name: value} or null, "hparams_status": "STATUS_SUCCESS" or null}

Exit status 0 when the directory loads and every check passes; 1 with a one-line message on stderr
otherwise (no event file, unreadable records, histogram buckets not summing to `num`, bucket limits
not increasing, min > max, or a summary that TensorBoard's data_compat migration — what the server
runs before display — cannot convert). Exit status 2 when `tensorboard` is not importable.
"""
import json
import math
import os
import sys


def fail(message):
    print(f"check_tensorboard: {message}", file=sys.stderr)
    sys.exit(1)


def json_number(x):
    """JSON has no NaN/Infinity; encode them as strings so the caller can still compare."""
    if math.isfinite(x):
        return x
    return "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf")


def main():
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        sys.exit(1)
    logdir = sys.argv[1]
    try:
        import tensorboard
        from tensorboard.backend.event_processing import event_accumulator
    except ImportError as error:
        print(f"check_tensorboard: cannot import tensorboard ({error})", file=sys.stderr)
        sys.exit(2)

    if not os.path.isdir(logdir):
        fail(f"{logdir}: not a directory")
    files = [name for name in os.listdir(logdir) if "tfevents" in name]
    if not files:
        fail(f"{logdir}: no events.out.tfevents.* file")

    # Also walk the raw records ourselves so a corrupt record is an error, not a silent skip.
    from tensorboard.compat.proto import event_pb2
    from tensorboard.backend.event_processing import event_file_loader

    from tensorboard import data_compat
    from tensorboard.util import tensor_util

    from google.protobuf import json_format
    from tensorboard.plugins.hparams import api_pb2 as plugin_api_pb2
    from tensorboard.plugins.hparams import plugin_data_pb2

    file_version = None
    migrated_totals = {}
    hparams, hparams_status = None, None
    for name in sorted(files):
        path = os.path.join(logdir, name)
        try:
            loader = event_file_loader.RawEventFileLoader(path, detect_file_replacement=False)
            records = list(loader.Load())
        except TypeError:  # older tensorboard without detect_file_replacement
            records = list(event_file_loader.RawEventFileLoader(path).Load())
        except Exception as error:  # DataLossError and friends
            fail(f"{path}: unreadable records ({error})")
        size = os.path.getsize(path)
        consumed = sum(len(r) + 16 for r in records)
        if consumed != size:
            fail(f"{path}: {size} bytes but only {consumed} were valid records (corrupt or truncated record)")
        if not records:
            fail(f"{path}: empty event file")
        first = event_pb2.Event.FromString(records[0])
        if first.WhichOneof("what") != "file_version":
            fail(f"{path}: first event is not a file_version event")
        file_version = first.file_version
        # The TensorBoard server converts legacy simple_value/histo summaries to tensor summaries
        # (data_compat); make sure every value survives that conversion.
        for record in records[1:]:
            event = event_pb2.Event.FromString(record)
            for value in data_compat.migrate_event(event).summary.value:
                if value.metadata.plugin_data.plugin_name == "hparams":
                    # HParams records carry their data in the plugin content, no tensor (as PyTorch's).
                    try:
                        data = plugin_data_pb2.HParamsPluginData.FromString(value.metadata.plugin_data.content)
                    except Exception as error:
                        fail(f"{path}: {value.tag} is not an HParamsPluginData message ({error})")
                    kind = data.WhichOneof("data")
                    if kind == "session_start_info":
                        hparams = {k: json_format.MessageToDict(v) for k, v in data.session_start_info.hparams.items()}
                    elif kind == "session_end_info":
                        hparams_status = plugin_api_pb2.Status.Name(data.session_end_info.status)
                    else:
                        fail(f"{path}: {value.tag} holds {kind}, not a session start or end")
                    continue
                array = tensor_util.make_ndarray(value.tensor)
                if value.metadata.plugin_data.plugin_name == "histograms":
                    if array.ndim != 2 or (array.size and array.shape[1] != 3):
                        fail(f"{path}: histogram {value.tag} step {event.step} migrates to shape {array.shape}")
                    migrated_totals.setdefault(value.tag, []).append(float(array[:, 2].sum()) if array.size else 0.0)

    accumulator = event_accumulator.EventAccumulator(
        logdir, size_guidance={event_accumulator.SCALARS: 0, event_accumulator.HISTOGRAMS: 0}
    )
    accumulator.Reload()
    tags = accumulator.Tags()

    scalars = {}
    for tag in tags.get(event_accumulator.SCALARS, []):
        scalars[tag] = [[e.step, json_number(e.value)] for e in accumulator.Scalars(tag)]

    histograms = {}
    for tag in tags.get(event_accumulator.HISTOGRAMS, []):
        entries = []
        for event in accumulator.Histograms(tag):
            h = event.histogram_value
            limits, counts = list(h.bucket_limit), list(h.bucket)
            if len(limits) != len(counts):
                fail(f"histogram {tag} step {event.step}: {len(limits)} limits but {len(counts)} buckets")
            if any(b <= a for a, b in zip(limits, limits[1:])):
                fail(f"histogram {tag} step {event.step}: bucket limits are not increasing")
            if abs(sum(counts) - h.num) > 1e-9 * max(1.0, h.num):
                fail(f"histogram {tag} step {event.step}: buckets sum to {sum(counts)} but num is {h.num}")
            if h.num > 0 and h.min > h.max:
                fail(f"histogram {tag} step {event.step}: min {h.min} > max {h.max}")
            totals = migrated_totals.get(tag, [])
            migrated = totals[len(entries)] if len(entries) < len(totals) else None
            if migrated is None or abs(migrated - h.num) > 1e-3 * max(1.0, h.num):
                fail(f"histogram {tag} step {event.step}: migrated tensor holds {migrated} values, num is {h.num}")
            entries.append({
                "step": event.step, "num": h.num, "min": h.min, "max": h.max, "sum": h.sum,
                "sum_squares": h.sum_squares, "bucket_total": sum(counts), "bucket_count": len(counts),
            })
        histograms[tag] = entries

    print(json.dumps({
        "tensorboard_version": tensorboard.__version__,
        "file_version": file_version,
        "scalars": scalars,
        "histograms": histograms,
        "hparams": hparams,
        "hparams_status": hparams_status,
    }, indent=1, sort_keys=True))


if __name__ == "__main__":
    main()
