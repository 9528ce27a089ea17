#!/usr/bin/env python3
"""Reads a TensorBoard log directory with TensorBoard's own HParams plugin backend — the code behind
the HParams dashboard — and prints what the dashboard would show, as JSON:

    python Scripts/check_tensorboard_hparams.py LOGDIR
    {"experiment": {"hparams": [...], "metrics": [...]}, "sessions": [{"group": ..., "hparams": {...}, "metrics": {...}}]}

Used by the Swift tests (Tests/NablaTrainingTests/TensorBoardHParamsTests.swift, with a Python that
has the `tensorboard` package) to check that Nabla's hparams summaries are what TensorBoard reads.
Exits non-zero with a message when TensorBoard finds no experiment or no session.
"""
import json
import sys

from tensorboard import context
from tensorboard.backend.event_processing import data_provider, plugin_event_multiplexer
from tensorboard.plugins import base_plugin
from tensorboard.plugins.hparams import api_pb2, backend_context, get_experiment, list_session_groups


def main(logdir):
    multiplexer = plugin_event_multiplexer.EventMultiplexer()
    multiplexer.AddRunsFromDirectory(logdir)
    multiplexer.Reload()
    provider = data_provider.MultiplexerDataProvider(multiplexer, logdir)
    tb_context = base_plugin.TBContext(logdir=logdir, multiplexer=multiplexer, data_provider=provider)
    hparams_context = backend_context.Context(tb_context)
    request_context = context.RequestContext()

    experiment = get_experiment.Handler(request_context, hparams_context, "", api_pb2.GetExperimentRequest()).run()
    if not experiment.hparam_infos:
        print("no hparams experiment found", file=sys.stderr)
        return 1
    request = api_pb2.ListSessionGroupsRequest(start_index=0, slice_size=100000)
    request.allowed_statuses.extend([api_pb2.STATUS_SUCCESS, api_pb2.STATUS_FAILURE, api_pb2.STATUS_RUNNING, api_pb2.STATUS_UNKNOWN])
    for info in experiment.hparam_infos:
        col = request.col_params.add()
        col.hparam = info.name
        col.include_in_result = True
    for info in experiment.metric_infos:
        col = request.col_params.add()
        col.metric.CopyFrom(info.name)
        col.include_in_result = True
    groups = list_session_groups.Handler(request_context, hparams_context, "", request).run()

    def value(v):
        kind = v.WhichOneof("kind")
        return getattr(v, kind) if kind else None

    out = {
        "experiment": {
            "hparams": [{"name": h.name, "type": api_pb2.DataType.Name(h.type)} for h in experiment.hparam_infos],
            "metrics": [m.name.tag for m in experiment.metric_infos],
        },
        "sessions": [],
    }
    for group in groups.session_groups:
        for session in group.sessions:
            out["sessions"].append({
                "group": group.name,
                "name": session.name,
                "status": api_pb2.Status.Name(session.status),
                "hparams": {k: value(v) for k, v in group.hparams.items()},
                "metrics": {m.name.tag: m.value for m in session.metric_values},
            })
    if not out["sessions"]:
        print("no hparams sessions found", file=sys.stderr)
        return 1
    print(json.dumps(out, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
