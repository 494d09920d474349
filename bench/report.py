#!/usr/bin/env python3
"""Turns the rounds scripts/bench measured (one JSON object a line) into bench/results' markdown and JSON.

    report.py ROUNDS.jsonl META.json OUT.md OUT.json

Each figure is also given as a ratio to nginx measured in the same run (and to Portkey when it ran).
"""
import json
import sys

rounds_path, meta_path, md_path, json_path = sys.argv[1:5]
meta = json.load(open(meta_path))
rounds = [json.loads(line) for line in open(rounds_path) if line.strip()]

CONTENDERS = ["direct", "nginx", "portkey", "switchyard"]
KINDS = ["chat", "stream"]


def figures(r, direct):
    secs = r["duration_us"] / 1e6
    f = {
        "requests": r["requests"],
        "non_2xx": r["errors_status"],
        "socket_errors": r["errors_connect"] + r["errors_read"] + r["errors_write"] + r["errors_timeout"],
        "rps": r["requests"] / secs if secs else 0.0,
        "p50_ms": r["p50_us"] / 1000,
        "p99_ms": r["p99_us"] / 1000,
        "p999_ms": r["p999_us"] / 1000,
    }
    if direct is not None and r["contender"] != "direct":
        f["added_p50_ms"] = (r["p50_us"] - direct["p50_us"]) / 1000
        f["added_p99_ms"] = (r["p99_us"] - direct["p99_us"]) / 1000
    if r.get("cpu_ticks") is not None and r["requests"]:
        cpu_s = r["cpu_ticks"] / r["clk_tck"]
        f["cpu_s_per_1k"] = cpu_s / r["requests"] * 1000
        f["cpu_us_per_req"] = cpu_s / r["requests"] * 1e6
    if r.get("peak_rss_kib") is not None:
        f["peak_rss_mib"] = r["peak_rss_kib"] / 1024
    return f


results = {}
for kind in KINDS:
    by = {r["contender"]: r for r in rounds if r["kind"] == kind}
    direct = by.get("direct")
    for c in CONTENDERS:
        if c in by:
            results.setdefault(kind, {})[c] = figures(by[c], direct)

RATIO_KEYS = ["rps", "p50_ms", "p99_ms", "p999_ms", "cpu_s_per_1k", "peak_rss_mib"]
for kind, per in results.items():
    for ref in ("nginx", "portkey"):
        if ref not in per:
            continue
        for c, f in per.items():
            ratios = {}
            for k in RATIO_KEYS:
                if k in f and k in per[ref] and per[ref][k]:
                    ratios[k] = f[k] / per[ref][k]
            f["vs_" + ref] = ratios

json.dump({"meta": meta, "results": results}, open(json_path, "w"), indent=2, sort_keys=False)


def fmt(v, spec):
    return "–" if v is None else format(v, spec)


def ratio(f, ref, key):
    v = f.get("vs_" + ref, {}).get(key)
    return "" if v is None else f" ({v:.2f}×)"


lines = [
    "# Switchyard benchmark: %s" % meta["mode"],
    "",
    "%s; %s. %s" % (meta["date"], meta["machine"], meta["pinning"]),
    "",
    "Load: wrk, %s threads, %s connections, %s s per round (after a %s s warm-up), maximum throughput; "
    "bodies: chat %s, stream %s. Ratios in brackets are to nginx in the same run. "
    "CPU and RSS are the proxy's own process tree (for direct: the fake upstream's); RSS is VmHWM."
    % (meta["threads"], meta["connections"], meta["duration_s"], meta["warmup_s"], meta["chat_body"],
       meta["stream_body"]),
    "",
]
for kind in KINDS:
    if kind not in results:
        continue
    title = {"chat": "Non-streaming chat (~380-byte answer)", "stream": "Streaming chat (20 chunks + usage + [DONE])"}[kind]
    lines += ["## " + title, "",
              "| contender | req/s | p50 ms | p99 ms | p99.9 ms | added p50 ms | added p99 ms | CPU s / 1k req | peak RSS MiB | non-2xx |",
              "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for c in CONTENDERS:
        f = results[kind].get(c)
        if f is None:
            continue
        lines.append("| %s | %s%s | %s%s | %s%s | %s | %s | %s | %s%s | %s%s | %d |" % (
            c,
            fmt(f["rps"], ",.0f"), ratio(f, "nginx", "rps"),
            fmt(f["p50_ms"], ".3f"), ratio(f, "nginx", "p50_ms"),
            fmt(f["p99_ms"], ".3f"), ratio(f, "nginx", "p99_ms"),
            fmt(f["p999_ms"], ".3f"),
            fmt(f.get("added_p50_ms"), "+.3f"), fmt(f.get("added_p99_ms"), "+.3f"),
            fmt(f.get("cpu_s_per_1k"), ".4f"), ratio(f, "nginx", "cpu_s_per_1k"),
            fmt(f.get("peak_rss_mib"), ".1f"), ratio(f, "nginx", "peak_rss_mib"),
            f["non_2xx"] + f["socket_errors"]))
    lines.append("")
if meta.get("notes"):
    lines += ["Notes:", ""] + ["- " + n for n in meta["notes"]] + [""]
open(md_path, "w").write("\n".join(lines))
print("\n".join(lines))
