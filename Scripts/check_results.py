#!/usr/bin/env python3
"""Independent check of a Nabla study's results.json: recomputes every verdict with scipy from the
per-seed numbers and fails when the file says something the numbers do not support.

    /work/torchenv/bin/python Scripts/check_results.py nabla-out/regularization/results.json

For every study (one family of variants compared with its baseline on one metric) it:
  * pairs each variant's runs with the baseline's by seed and recomputes the mean paired difference,
    its 95% Student-t interval (scipy.stats.ttest_rel(...).confidence_interval) and the paired
    t-test's p-value, then Holm-Bonferroni over the study's variants (written out below, statsmodels'
    multipletests(method='holm') formula);
  * recomputes the verdict: "better"/"worse" only when the adjusted p < alpha and the interval
    excludes 0 (direction by higher_is_better), else "no detectable difference";
  * FAILS on a "better"/"worse" whose recomputed interval includes 0, on any verdict, difference,
    interval or p-value that disagrees with the recomputation, and on a run whose split is not the
    study's split;
  * FAILS when a selection used anything but the validation split: every tuning trial must be
    scored on "validation", the chosen setting must be the best trial by that score, and a variant
    whose test figures decide anything (a best model chosen by test) fails too.

  * FAILS on a `search` record (nabla study search) whose trials or re-runs are scored on anything
    but "validation", whose winner is not the best mean validation re-run, or whose final runs are
    not on "test"; and on results that lack the documented keys (see README, "results.json").

Exit status 0 when everything checks, 1 otherwise (each failure printed on its own line).
"""
import json
import math
import sys

from scipy import stats

REL = 1e-6


def close(a, b, rel=REL, abs_=1e-12):
    if a is None or b is None:
        return a is b
    return abs(a - b) <= rel * max(abs(a), abs(b)) + abs_


def holm(pvalues):
    """Holm's step-down adjustment, in input order (statsmodels' formula)."""
    m = len(pvalues)
    order = sorted(range(m), key=lambda i: (pvalues[i], i))
    adjusted = [0.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, (m - rank) * pvalues[i])
        adjusted[i] = min(1.0, running)
    return adjusted


def check_study(study, failures):
    name = study["name"]
    alpha_default = 0.05
    higher = study["higher_is_better"]
    split = study.get("split")
    variants = study["variants"]
    by_name = {v["name"]: v for v in variants}
    baseline = by_name.get(study["baseline"])
    if baseline is None:
        failures.append(f"{name}: the baseline '{study['baseline']}' is not among the variants")
        return 0
    for v in variants:
        for run in v["runs"]:
            if split is not None and run["split"] != split:
                failures.append(f"{name}: {v['name']} seed {run['seed']} has split '{run['split']}', the study's metric is on '{split}'")
    base = {r["seed"]: r["value"] for r in baseline["runs"]}
    compared = []
    for v in variants:
        if v is baseline or v.get("verdict") is None:
            continue
        runs = {r["seed"]: r["value"] for r in v["runs"]}
        seeds = sorted(set(base) & set(runs))
        if seeds != sorted(runs) or seeds != sorted(base):
            failures.append(f"{name}: {v['name']} and the baseline were not run on the same seeds")
            continue
        x = [runs[s] for s in seeds]
        y = [base[s] for s in seeds]
        if any(a is None for a in x + y):
            failures.append(f"{name}: {v['name']} has a verdict but missing values")
            continue
        d = [a - b for a, b in zip(x, y)]
        mean = sum(d) / len(d)
        if all(di == d[0] for di in d):
            # Zero spread: scipy returns nan; Nabla's convention is p = 0 for a non-zero constant, 1 for 0.
            p = 0.0 if mean != 0 else 1.0
            lo = hi = mean
        else:
            res = stats.ttest_rel(x, y)
            p = float(res.pvalue)
            ci = res.confidence_interval(0.95)
            lo, hi = float(ci.low), float(ci.high)
        compared.append((v, mean, lo, hi, p, len(d)))
    adjusted = holm([c[4] for c in compared])
    for (v, mean, lo, hi, p, n), p_adj in zip(compared, adjusted):
        verdict = v["verdict"]
        alpha = verdict.get("alpha", alpha_default)
        excludes_zero = lo > 0 or hi < 0
        if p_adj < alpha and excludes_zero:
            label = "better" if (lo > 0) == higher else "worse"
        else:
            label = "no detectable difference"
        where = f"{name}: {v['name']}"
        if verdict["label"] in ("better", "worse") and not excludes_zero:
            failures.append(f"{where}: says '{verdict['label']}' but the 95% interval of the paired difference "
                            f"[{lo:.6g}, {hi:.6g}] includes 0")
        if verdict["label"] != label:
            failures.append(f"{where}: says '{verdict['label']}', recomputed '{label}' (Holm p = {p_adj:.4g}, CI [{lo:.4g}, {hi:.4g}])")
        if not close(verdict["difference"], mean, abs_=1e-12):
            failures.append(f"{where}: difference {verdict['difference']} != recomputed {mean}")
        interval = verdict["interval"]
        if not (close(interval[0], lo, abs_=1e-9) and close(interval[1], hi, abs_=1e-9)):
            failures.append(f"{where}: interval {interval} != recomputed [{lo}, {hi}]")
        if not close(verdict["p_value"], p_adj, rel=1e-6, abs_=1e-12):
            failures.append(f"{where}: p_value {verdict['p_value']} != recomputed Holm-adjusted {p_adj}")
        if "p_value_unadjusted" in verdict and not close(verdict["p_value_unadjusted"], p, rel=1e-6, abs_=1e-12):
            failures.append(f"{where}: unadjusted p {verdict['p_value_unadjusted']} != recomputed {p}")
    return len(compared)


def check_selection(study, failures):
    checked = 0
    for v in study["variants"]:
        sel = v.get("selection")
        if sel is None:
            continue
        checked += 1
        where = f"{study['name']}: {v['name']} selection"
        if sel.get("split") != "validation":
            failures.append(f"{where}: made on split '{sel.get('split')}', not 'validation'")
        best, best_value = None, None
        for trial in sel["trials"]:
            if trial.get("split") != "validation":
                failures.append(f"{where}: a trial is scored on split '{trial.get('split')}', not 'validation'")
            values = trial.get("values", [])
            value = None if (not values or any(x is None for x in values)) else sum(values) / len(values)
            if not close(value, trial.get("value"), abs_=1e-12):
                failures.append(f"{where}: trial {trial['setting']} value {trial.get('value')} != mean of its values {value}")
            if value is not None and (best_value is None or value > best_value):
                best, best_value = trial["setting"], value
        if best is not None and best != sel["chosen"]:
            failures.append(f"{where}: chose {sel['chosen']} but the best validation trial is {best}")
        if best is not None and v.get("setting") != sel["chosen"]:
            failures.append(f"{where}: the final runs used {v.get('setting')}, not the chosen {sel['chosen']}")
    return checked


REQUIRED_STUDY_KEYS = ("name", "metric", "higher_is_better", "baseline", "variants")


def check_shape(data, failures):
    """The documented shape (README, "results.json"): required keys and their types."""
    if not isinstance(data.get("studies"), list):
        failures.append("results.json lacks the 'studies' list")
        return False
    ok = True
    for i, study in enumerate(data["studies"]):
        missing = [k for k in REQUIRED_STUDY_KEYS if k not in study]
        if missing:
            failures.append(f"study {i}: lacks {', '.join(missing)}")
            ok = False
            continue
        if not isinstance(study["higher_is_better"], bool):
            failures.append(f"{study['name']}: higher_is_better is not a boolean")
        for v in study["variants"]:
            for key in ("name", "runs"):
                if key not in v:
                    failures.append(f"{study['name']}: a variant lacks '{key}'")
                    ok = False
            for run in v.get("runs", []):
                if set(("seed", "split", "value")) - set(run):
                    failures.append(f"{study['name']}: {v.get('name')}: a run lacks seed, split or value")
                    ok = False
            verdict = v.get("verdict")
            if verdict is not None:
                for key in ("label", "difference", "interval", "p_value", "test"):
                    if key not in verdict:
                        failures.append(f"{study['name']}: {v['name']}: the verdict lacks '{key}'")
                        ok = False
                if verdict.get("label") not in ("better", "worse", "no detectable difference"):
                    failures.append(f"{study['name']}: {v['name']}: unknown verdict label {verdict.get('label')!r}")
                if not (isinstance(verdict.get("interval"), list) and len(verdict["interval"]) == 2):
                    failures.append(f"{study['name']}: {v['name']}: the interval is not [lo, hi]")
                    ok = False
    return ok


def check_search(search, failures):
    """`nabla study search`: every search and re-run figure is a validation figure, the winner is the
    best mean validation accuracy over the re-run seeds, and only the winner's final runs are on test."""
    for stage in ("trials", "reruns"):
        for entry in search.get(stage, []):
            if entry.get("split") != "validation":
                failures.append(f"search {stage}: lr={entry.get('lr')} wd={entry.get('weight_decay')} seed {entry.get('seed')} "
                                f"is scored on '{entry.get('split')}', not 'validation'")
    groups = {}
    for entry in search.get("reruns", []):
        groups.setdefault((entry["lr"], entry["weight_decay"]), []).append(entry.get("value"))
    means = {k: sum(v) / len(v) for k, v in groups.items() if v and all(x is not None for x in v)}
    if means:
        best = max(means, key=lambda k: means[k])
        winner = (search["winner"].get("lr"), search["winner"].get("weight_decay"))
        if winner != best and not close(means.get(winner), means[best], abs_=1e-12):
            failures.append(f"search: the winner {winner} is not the best mean validation re-run {best} ({means[best]:.6g})")
    for run in search.get("final", []):
        if run.get("split") != "test":
            failures.append(f"search: a final run of the winner reports split '{run.get('split')}', expected 'test'")
    return len(search.get("trials", [])) + len(search.get("reruns", []))


def main(path):
    with open(path) as f:
        data = json.load(f)
    failures = []
    verdicts = selections = 0
    if check_shape(data, failures):
        for study in data["studies"]:
            verdicts += check_study(study, failures)
            selections += check_selection(study, failures)
    if data.get("search") is not None:
        selections += check_search(data["search"], failures)
    for card in data.get("replications") or []:
        if card.get("status") not in ("replicated", "not replicated"):
            failures.append(f"replication {card.get('key')}: unknown status {card.get('status')!r}")
    for best in data.get("best_models", []):
        if "validation" not in best.get("chosen_by", ""):
            failures.append(f"best model of {best.get('regime')}: chosen by '{best.get('chosen_by')}', not on the validation split")
    for line in failures:
        print("FAIL:", line)
    print(f"check_results: {len(data['studies'])} studies, {verdicts} verdicts recomputed, {selections} selections checked, "
          f"{len(failures)} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print(__doc__)
        sys.exit(2)
    sys.exit(main(sys.argv[1]))
