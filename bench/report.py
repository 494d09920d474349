#!/usr/bin/env python3
"""Turns the rounds scripts/bench measured (one JSON object a line) into bench/results' markdown and JSON.

    report.py ROUNDS.jsonl META.json OUT.md OUT.json

Rounds: "max" (wrk), "rate" (switchyard-loadgen at a fixed rate), "idle", "streams" and "soak" (RSS).
Each figure is also given as a ratio to nginx and to Portkey measured in the same run (when they ran), and
the issue's targets are checked against Switchyard's figures.
"""
import json
import sys

rounds_path, meta_path, md_path, json_path = sys.argv[1:5]
meta = json.load(open(meta_path))
rounds = [json.loads(line) for line in open(rounds_path) if line.strip()]

CONTENDERS = ["direct", "nginx", "portkey", "switchyard"]
KINDS = ["chat", "stream", "embed"]
TITLES = {
    "chat": "Non-streaming chat (~380-byte answer)",
    "stream": "Streaming chat (20 chunks + usage + [DONE])",
    "embed": "Embeddings",
}
REFS = ["nginx", "portkey"]


def cpu_figures(r):
    """CPU of the proxy's process tree per request, from the ticks scripts/bench read in /proc."""
    done = r.get("requests", r.get("ok", 0))
    if r.get("cpu_ticks") is None or not done:
        return {}
    cpu_s = r["cpu_ticks"] / r["clk_tck"]
    return {"cpu_s_per_1k": cpu_s / done * 1000, "cpu_us_per_req": cpu_s / done * 1e6}


def max_figures(r):
    secs = r["duration_us"] / 1e6
    f = {
        "requests": r["requests"],
        "errors": r["errors_status"] + r["errors_connect"] + r["errors_read"] + r["errors_write"]
        + r["errors_timeout"],
        "rps": r["requests"] / secs if secs else 0.0,
        "p50_ms": r["p50_us"] / 1000,
        "p99_ms": r["p99_us"] / 1000,
        "p999_ms": r["p999_us"] / 1000,
        "peak_rss_mib": r["peak_rss_kib"] / 1024,
    }
    f.update(cpu_figures(r))
    return f


def rate_figures(r, direct):
    f = {
        "load_pct": r["load_pct"],
        "target_rps": r["target_rps"],
        "achieved_rps": r["achieved_rps"],
        "requests": r["ok"],
        "errors": r["errors_status"] + r["errors_socket"] + r["errors_stream"],
        "dropped_late": r["dropped_late"],
        "p50_ms": r["p50_us"] / 1000,
        "p99_ms": r["p99_us"] / 1000,
        "p999_ms": r["p999_us"] / 1000,
        "max_ms": r["max_us"] / 1000,
        "peak_rss_mib": r["peak_rss_kib"] / 1024,
    }
    if r.get("stream"):
        f["first_p50_ms"] = r["first_p50_us"] / 1000
        f["first_p99_ms"] = r["first_p99_us"] / 1000
        f["first_p999_ms"] = r["first_p999_us"] / 1000
    if direct is not None and r["contender"] != "direct":
        for p in ("p50", "p99", "p999"):
            f["added_%s_ms" % p] = (r[p + "_us"] - direct[p + "_us"]) / 1000
            if r.get("stream"):
                f["added_first_%s_ms" % p] = (r["first_%s_us" % p] - direct["first_%s_us" % p]) / 1000
    f.update(cpu_figures(r))
    return f


def add_ratios(group):
    """group: contender -> figures measured under the same conditions; adds vs_nginx and vs_portkey."""
    for ref in REFS:
        if ref not in group:
            continue
        for f in group.values():
            # Only between positive figures: a ratio of two added latencies of opposite sign means nothing.
            f["vs_" + ref] = {k: v / group[ref][k] for k, v in f.items()
                              if isinstance(v, float) and isinstance(group[ref].get(k), float)
                              and v > 0 and group[ref][k] > 0}


results = {"max": {}, "rate": {}, "idle": {}, "streams": {}, "soak": None}
for kind in KINDS:
    by = {r["contender"]: r for r in rounds if r["round"] == "max" and r["kind"] == kind}
    if by:
        results["max"][kind] = {c: max_figures(by[c]) for c in CONTENDERS if c in by}
    pcts = sorted({r["load_pct"] for r in rounds if r["round"] == "rate" and r["kind"] == kind})
    for pct in pcts:
        by = {r["contender"]: r for r in rounds if r["round"] == "rate" and r["kind"] == kind and r["load_pct"] == pct}
        results["rate"].setdefault(kind, {})[str(pct)] = {
            c: rate_figures(by[c], by.get("direct")) for c in CONTENDERS if c in by}
for r in rounds:
    if r["round"] == "idle":
        results["idle"][r["contender"]] = {"rss_mib": r["rss_kib"] / 1024}
    elif r["round"] == "streams":
        results["streams"][r["contender"]] = {
            "requested": r["requested"], "open": r["open"], "ramp_ms": r["ramp_ms"],
            "rss_before_mib": r["rss_before_kib"] / 1024, "rss_with_mib": r["rss_with_kib"] / 1024,
            "kib_per_stream": float(r["kib_per_stream"]) if r["kib_per_stream"] is not None else None}
    elif r["round"] == "soak":
        results["soak"] = dict(rate_figures(r, None), duration_s=r["duration_s"],
                               rss_before_mib=r["rss_before_kib"] / 1024, rss_after_mib=r["rss_after_kib"] / 1024,
                               rss_change_pct=(r["rss_after_kib"] - r["rss_before_kib"]) / r["rss_before_kib"] * 100)

for per in results["max"].values():
    add_ratios(per)
for per_pct in results["rate"].values():
    for per in per_pct.values():
        add_ratios(per)
add_ratios(results["idle"])
# Open-streams rounds may hold different counts (Portkey's is smaller in a quick run): KiB per stream compares.
add_ratios(results["streams"])


def get(*path):
    node = results
    for p in path:
        if not isinstance(node, dict) or p not in node:
            return None
        node = node[p]
    return node


def target(name, value, unit, ok, detail=""):
    return {"target": name, "value": value, "unit": unit, "met": None if value is None else ok(value),
            "detail": detail}


def ratio_of(kind, ref):
    sy, other = get("max", kind, "switchyard", "rps"), get("max", kind, ref, "rps")
    return sy / other if sy is not None and other else None


sy_streams = get("streams", "switchyard")
soak = results["soak"]
targets = [
    target("Non-streaming req/s >= 1.0x nginx", ratio_of("chat", "nginx"), "x", lambda v: v >= 1.0),
    target("Streaming req/s >= 1.0x nginx", ratio_of("stream", "nginx"), "x", lambda v: v >= 1.0),
    target("Non-streaming req/s >= 30x Portkey", ratio_of("chat", "portkey"), "x", lambda v: v >= 30),
    target("Streaming req/s >= 30x Portkey", ratio_of("stream", "portkey"), "x", lambda v: v >= 30),
    target("Added latency at 50% load, p50 <= 0.1 ms", get("rate", "chat", "50", "switchyard", "added_p50_ms"), "ms",
           lambda v: v <= 0.1, "non-streaming, against direct at the same fixed rate"),
    target("Added latency at 50% load, p99 <= 0.5 ms", get("rate", "chat", "50", "switchyard", "added_p99_ms"), "ms",
           lambda v: v <= 0.5, "non-streaming, against direct at the same fixed rate"),
    target("Gateway CPU <= 25 us per non-streaming request", get("max", "chat", "switchyard", "cpu_us_per_req"),
           "us", lambda v: v <= 25, "maximum-throughput round"),
    target("RSS <= 16 KiB per open stream at 10,000 streams", get("streams", "switchyard", "kib_per_stream"), "KiB",
           lambda v: v <= 16, "%s streams open" % (sy_streams["open"] if sy_streams else "no")),
    target("Idle RSS <= 30 MiB", get("idle", "switchyard", "rss_mib"), "MiB", lambda v: v <= 30),
    target("RSS within 5% across the soak", soak["rss_change_pct"] if soak else None, "%", lambda v: abs(v) <= 5,
           "%d s at 50%% load" % soak["duration_s"] if soak else "not run in a %s run" % meta["mode"]),
]
results["targets"] = targets

json.dump({"meta": meta, "results": results}, open(json_path, "w"), indent=2)


def fmt(v, spec):
    return "–" if v is None else format(v, spec)


def ratios(f, key):
    """' (0.50× / 12.3×)': the figure against nginx and Portkey in the same run."""
    parts = [f.get("vs_" + ref, {}).get(key) for ref in REFS]
    if all(p is None for p in parts):
        return ""
    return " (%s)" % " / ".join("–" if p is None else "%.2f×" % p for p in parts)


def cell(f, key, spec):
    return fmt(f.get(key), spec) + ratios(f, key)


lines = [
    "# Switchyard benchmark: %s" % meta["mode"],
    "",
    "%s; %s. %s" % (meta["date"], meta["machine"], meta["pinning"]),
    "",
    "In brackets after a figure: its ratio to nginx / to Portkey measured in the same run (– where one did not "
    "run). CPU and RSS are the proxy's own process tree (for direct: the fake upstream's).",
    "",
    "## Targets (issue 4)",
    "",
    "| target | measured | met | how |",
    "| --- | ---: | :---: | --- |",
]
for t in targets:
    value = "–" if t["value"] is None else "%.3g %s" % (t["value"], t["unit"])
    met = {True: "met", False: "**not met**", None: "not measured"}[t["met"]]
    lines.append("| %s | %s | %s | %s |" % (t["target"], value, met, t["detail"]))
lines.append("")

lines += [
    "## Maximum throughput (wrk)",
    "",
    "wrk, %s threads, %s connections, %s s per round after a %s s warm-up; bodies: chat %s, stream %s, "
    "embeddings %s. Latency here is wrk's, at saturation: the fixed-rate rounds below give the latency that "
    "matters. CPU µs per request from utime+stime; peak RSS is VmHWM."
    % (meta["threads"], meta["connections"], meta["duration_s"], meta["warmup_s"], meta["chat_body"],
       meta["stream_body"], meta["embed_body"]),
    "",
]
for kind in KINDS:
    per = results["max"].get(kind)
    if not per:
        continue
    lines += ["### " + TITLES[kind], "",
              "| contender | req/s | p50 ms | p99 ms | p99.9 ms | CPU s / 1k req | CPU µs / req | peak RSS MiB | errors |",
              "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for c, f in per.items():
        lines.append("| %s | %s | %s | %s | %s | %s | %s | %s | %d |" % (
            c, cell(f, "rps", ",.0f"), cell(f, "p50_ms", ".3f"), cell(f, "p99_ms", ".3f"),
            cell(f, "p999_ms", ".3f"), fmt(f.get("cpu_s_per_1k"), ".4f"), cell(f, "cpu_us_per_req", ".1f"),
            cell(f, "peak_rss_mib", ".1f"), f["errors"]))
    lines.append("")

if results["rate"]:
    lines += [
        "## Fixed rates (switchyard-loadgen)",
        "",
        "Open loop: request i is due at t0 + i/rate and latency runs from that moment to the last byte, so "
        "time queued behind a slow answer counts (no coordinated omission). Every contender gets the same "
        "absolute rate, a fraction of Switchyard's maximum in this run; %s connections, %s s per round. "
        "Added latency is against direct at the same rate." % (meta["connections"], meta["rate_s"]),
        "",
    ]
    for kind, per_pct in results["rate"].items():
        stream = kind == "stream"
        lines += ["### " + TITLES[kind], ""]
        head = "| load | contender | req/s | p50 ms | p99 ms | p99.9 ms | added p50 ms | added p99 ms |"
        rule = "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: |"
        if stream:
            head += " first chunk p50 ms | first chunk p99 ms |"
            rule += " ---: | ---: |"
        lines += [head + " CPU µs / req | errors |", rule + " ---: | ---: |"]
        for pct, per in per_pct.items():
            for c, f in per.items():
                row = "| %s%% | %s | %s | %s | %s | %s | %s | %s |" % (
                    pct, c, fmt(f["achieved_rps"], ",.0f"), cell(f, "p50_ms", ".3f"), cell(f, "p99_ms", ".3f"),
                    cell(f, "p999_ms", ".3f"), cell(f, "added_p50_ms", "+.3f"), cell(f, "added_p99_ms", "+.3f"))
                if stream:
                    row += " %s | %s |" % (cell(f, "first_p50_ms", ".3f"), cell(f, "first_p99_ms", ".3f"))
                row += " %s | %d |" % (cell(f, "cpu_us_per_req", ".1f"), f["errors"] + f["dropped_late"])
                lines.append(row)
        if stream:
            lines += ["", "Streaming latency columns are to the last chunk ([DONE]); first-chunk columns to the "
                      "first `data:` event."]
        lines.append("")

lines += ["## Memory", "", "| contender | idle RSS MiB | open streams | RSS before MiB | RSS with streams MiB | KiB per open stream |",
          "| --- | ---: | ---: | ---: | ---: | ---: |"]
for c in CONTENDERS:
    idle, st = results["idle"].get(c), results["streams"].get(c)
    if idle is None and st is None:
        continue
    st = st or {}
    lines.append("| %s | %s | %s | %s | %s | %s |" % (
        c, cell(idle or {}, "rss_mib", ".1f"),
        "–" if not st else "%d of %d" % (st["open"], st["requested"]),
        fmt(st.get("rss_before_mib"), ".1f"), fmt(st.get("rss_with_mib"), ".1f"), cell(st, "kib_per_stream", ".1f")))
lines += ["", "Idle: VmRSS after one request of each kind, before any load. Open streams: held on a slow upstream "
          "(one chunk a second), VmRSS read 1.5 s after the last one opened; KiB per stream = (RSS with streams "
          "- RSS before) / streams open.", ""]
if soak:
    lines += ["Soak: %d s at %s req/s (50%% load, non-streaming): RSS %.1f MiB before, %.1f MiB after (%+.2f%%); "
              "p50 %.3f ms, p99 %.3f ms, %d errors." % (
                  soak["duration_s"], format(soak["target_rps"], ",.0f"), soak["rss_before_mib"],
                  soak["rss_after_mib"], soak["rss_change_pct"], soak["p50_ms"], soak["p99_ms"],
                  soak["errors"] + soak["dropped_late"]), ""]
if meta.get("notes"):
    lines += ["## Notes", ""] + ["- " + n for n in meta["notes"]] + [""]
open(md_path, "w").write("\n".join(lines))
print("\n".join(lines))
