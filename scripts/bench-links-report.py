#!/usr/bin/env python3
"""Writes the "Shaped links" section of BENCHMARKS.md from scripts/bench-links.sh's results.

    bench-links-report.py RESULTS.tsv OUT.md
        replaces the "## Shaped links" section of OUT.md (or puts one before "## What was tried",
        or at the end); the rest of OUT.md is kept as it is.
    bench-links-report.py --rate SEND.out RATE LINK
        prints one "rate" row (TSV) from a timestamped `send --json` output (lines "EPOCH<TAB>JSON").
    bench-links-report.py --bytes RATE SECONDS
        prints how many bytes RATE (as `--limit-rate` reads it) moves in SECONDS.

RESULTS rows (TSV):
    workload WL NAME DESCRIPTION
    link     LINK RATE DELAY
    run      LINK WL TOOL ROUND WALL CPU CPU_SEND CPU_RECV CPU_CLI HWM_S HWM_R RSS_S RSS_R
    rss      LINK WL SENDER_KIB RECEIVER_KIB      (the peershare agents after all runs)
    rate     LINK SET_BYTES_PER_S WHOLE_RATE WINDOW_RATE WINDOW_S TOTAL_S
    first    N SECONDS
    meta     KEY VALUE
"""
import json
import os
import re
import statistics
import sys

SECTION = "## Shaped links"
WHAT_WAS_TRIED = "## What was tried"
LABELS = {"tarnc": "tar \\| nc", "tarzstd": "tar \\| zstd -1 \\| nc", "rsync": "rsync -a",
          "rsyncz": "rsync -az", "scp": "scp -r", "scpC": "scp -C", "peershare": "peershare"}
TITLES = {"tree": "Source-tree-like folder", "photos": "Photo-library-like folder",
          "big": "One large file of random bytes"}
RSS_TARGET_KIB = 64 * 1024
UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}


def parse_rate(text):
    m = re.fullmatch(r"(\d+(?:\.\d+)?)([kmg]?)", text.strip().lower())
    if not m:
        sys.exit(f"cannot read the rate {text!r}")
    return float(m.group(1)) * UNITS[m.group(2)]


def rate_row(send_out, rate, link):
    """The rate over the whole data phase (first to last progress event) and over the 10 s window
    that starts 2 s into it (the first seconds fill the socket buffers, not limited by the bucket)."""
    points = []
    for line in open(send_out):
        t, _, js = line.partition("\t")
        try:
            ev = json.loads(js)
        except ValueError:
            continue
        if ev.get("event") == "progress" and ev.get("bytes") is not None:
            points.append((float(t), int(ev["bytes"])))
    if len(points) < 3:
        sys.exit("too few progress events to measure the rate")
    t0, b0 = points[0]
    t1, b1 = points[-1]
    whole = (b1 - b0) / (t1 - t0)
    start = [p for p in points if p[0] >= t0 + 2.0]
    ws = start[0] if start else points[0]
    inside = [p for p in points if p[0] <= ws[0] + 10.0]
    we = inside[-1]
    window = (we[1] - ws[1]) / (we[0] - ws[0]) if we[0] > ws[0] else float("nan")
    print(f"rate\t{link}\t{parse_rate(rate):.0f}\t{whole:.0f}\t{window:.0f}\t{we[0] - ws[0]:.2f}\t{t1 - t0:.2f}")


def mib(kib):
    return f"{kib / 1024:.1f} MiB"


def read(path):
    d = {"workloads": {}, "links": [], "runs": {}, "rss": {}, "rate": [], "meta": {}}
    for raw in open(path):
        p = raw.rstrip("\n").split("\t")
        if p[0] == "workload":
            d["workloads"][p[1]] = (p[2], p[3])
        elif p[0] == "link":
            d["links"].append((p[1], p[2], p[3], p[4] if len(p) > 4 else "?"))
        elif p[0] == "run":
            vals = list(map(float, p[5:14]))
            d["runs"].setdefault((p[1], p[2], p[3]), []).append(vals)
        elif p[0] == "rss":
            d["rss"][(p[1], p[2])] = (int(p[3]), int(p[4]))
        elif p[0] == "rate":
            d["rate"].append(p[1:])
        elif p[0] == "meta":
            d["meta"][p[1]] = p[2] if len(p) > 2 else ""
    return d


def section(d):
    meta, runs, wls = d["meta"], d["runs"], d["workloads"]
    med = {k: (statistics.median(r[0] for r in v), statistics.median(r[1] for r in v)) for k, v in runs.items()}
    out = []
    w = out.append

    def size(wl):
        m = re.search(r"(\d+) bytes", wls[wl][1])
        return int(m.group(1)) if m else 0

    def ratio(link, wl, tool, base="tarnc"):
        b = med.get((link, wl, base), (0, 0))[0]
        return med[(link, wl, tool)][0] / b if b > 0 else float("nan")

    w(SECTION)
    w("")
    total = float(meta.get("seconds", "0"))
    w(f"Written by `make bench-links` (`scripts/bench-links.sh`) on {meta.get('date', '?')}; the run took "
      f"{total:.0f} s ({total / 60:.1f} min). peershare binary: `{meta.get('binary', '?')}`, built "
      f"{meta.get('binary_time', '?')}; work tree: {meta.get('commit', '?')}. `make bench` keeps this section.")
    w("")
    sizes = ", ".join(f"{TITLES[wl].lower()} {wls[wl][1]}" for wl in wls)
    if meta.get("quick") == "1" or any(size(wl) < 1 << 30 for wl in ("big",) if wl in wls):
        w(f"> **Reduced workloads** ({sizes}), not the full ones of `make bench`: the figures hold for "
          "these sizes only (on a slow link a short send weighs its start-up more).")
        w("")
    w(f"- Machine: {meta.get('cpus', '?')} CPUs ({meta.get('cpu_model', '?')}), {meta.get('kernel', '?')}; "
      f"load average at the start {meta.get('load_start', '?')}, at the end {meta.get('load_end', '?')} "
      "(a shared machine: other work shows as noise).")
    tools = re.sub(r"\*+ *", "", meta.get("tools", "?"))
    w(f"- Tools: {tools}; ssh cipher {meta.get('ssh_cipher', '?')}.")
    w("- The link: two network namespaces joined by a veth pair; on each end's egress "
      "`tc qdisc ... root netem rate RATE delay DELAY` (the delay is one way, so the round trip is twice it), "
      "or, on a kernel without netem, `tbf rate RATE` and no added delay (each link's heading says which). "
      "Both ends share this machine's CPUs, so CPU-bound tools still compete with their other end.")
    w(f"- For each link and workload, {meta.get('runs', '?')} rounds; in each round every tool copies the "
      "workload once, the order rotating; medians of the rounds; ratios are to `tar | nc` on the same link. "
      "Warm page cache, copies checked against the source and deleted untimed, as in `make bench` (Method above).")
    w("- Commands: `tar -cf - | nc` into `nc -l | tar -xf -`; the same with `zstd -1` / `zstd -d` in the pipes; "
      "`rsync -a` and `rsync -az` over ssh; `scp -C -r` (SFTP); `peershare send NAME --to ADDR:PORT` through "
      "the running sender agent to the paired receiver agent (both run as an ordinary user, "
      "`--no-discovery`, listening on their namespace's veth address). An sshd (root, throwaway keys) "
      "listens in the receiving namespace.")
    w("- CPU s = user + system of both ends (for ssh tools: the client with its ssh, plus the sshd side). "
      "Peak RSS: peershare, each agent's VmHWM after the workload's runs; tar/zstd/nc, the largest process "
      "of each end (`/usr/bin/time` %M); rsync and scp, the client side only.")
    w("")

    # Targets.
    links = [link[0] for link in d["links"]]
    w("### Targets (issue 18)")
    w("")
    w("| target | this run | met |")
    w("|---|---|---|")

    def have(*keys):
        return all(k in med for k in keys)

    slow = links[0] if links else None
    if slow and have((slow, "tree", "peershare"), (slow, "tree", "rsync")):
        r = med[(slow, "tree", "peershare")][0] / med[(slow, "tree", "rsync")][0]
        w(f"| {slow}, source tree: peershare ≤ 0.5× the time of rsync -a | {r:.2f}× | {'yes' if r <= 0.5 else '**no**'} |")
    if slow and have((slow, "tree", "peershare"), (slow, "tree", "rsyncz")):
        pw, pc = med[(slow, "tree", "peershare")]
        zw, zc = med[(slow, "tree", "rsyncz")]
        w(f"| {slow}, source tree: no slower than rsync -az | {pw:.2f} s vs {zw:.2f} s | {'yes' if pw <= zw else '**no**'} |")
        w(f"| {slow}, source tree: less CPU than rsync -az | {pc:.2f} s vs {zc:.2f} s | {'yes' if pc < zc else '**no**'} |")
    for link in links:
        for wl in ("photos", "big"):
            if have((link, wl, "peershare"), (link, wl, "tarnc")):
                r = ratio(link, wl, "peershare")
                w(f"| {link}, {TITLES[wl].lower()}: within 5% of tar \\| nc | {r:.2f}× | {'yes' if r <= 1.05 else '**no**'} |")
    for row in d["rate"]:
        link, want, whole, window = row[0], float(row[1]), float(row[2]), float(row[3])
        dev = window / want - 1
        w(f"| rate limit ±5% over 10 s ({link}, set {want / (1 << 20):.2f} MiB/s) | "
          f"{window / (1 << 20):.3f} MiB/s over {float(row[4]):.1f} s ({dev:+.1%}); whole send {whole / (1 << 20):.3f} MiB/s | "
          f"{'yes' if abs(dev) <= 0.05 else '**no**'} |")
    if d["rss"]:
        worst = max(max(v) for v in d["rss"].values())
        w(f"| peak RSS of either agent ≤ 64 MiB | largest {mib(worst)} | {'yes' if worst <= RSS_TARGET_KIB else '**no**'} |")
    w("")

    for link, rate, delay, shaping in d["links"]:
        w(f"### {link}: rate {rate}, one-way delay {delay} (`tc`: {shaping})")
        w("")
        for wl in ("tree", "photos", "big"):
            tools = [t for t in LABELS if (link, wl, t) in med]
            if not tools:
                continue
            w(f"**{TITLES[wl]}** (`{wls[wl][0]}`: {wls[wl][1]})")
            w("")
            w("| tool | median s | ratio to tar\\|nc | MiB/s | CPU s (both ends) | peak RSS sender / receiver |")
            w("|---|---:|---:|---:|---:|---|")
            for t in tools:
                m, c = med[(link, wl, t)]
                rs = runs[(link, wl, t)]
                if t == "peershare" and (link, wl) in d["rss"]:
                    s, r = d["rss"][(link, wl)]
                    peak = f"{mib(s)} / {mib(r)}"
                else:
                    s, r = max(x[5] for x in rs), max(x[6] for x in rs)
                    peak = f"{mib(s)} / {mib(r) if r else '—'}" if s else "—"
                w(f"| {LABELS[t]} | {m:.3f} | {ratio(link, wl, t):.2f} | {size(wl) / (1 << 20) / m:.1f} | {c:.2f} | {peak} |")
            w("")
            w("All runs (wall s / CPU s), in round order: " + "; ".join(
                f"{LABELS[t]} " + ", ".join(f"{x[0]:.2f}/{x[1]:.2f}" for x in runs[(link, wl, t)]) for t in tools) + ".")
            w("")
    return "\n".join(out).rstrip("\n") + "\n"


def write(results, out_path):
    new = section(read(results))
    try:
        old = open(out_path).read()
    except FileNotFoundError:
        old = "# Benchmarks\n"
    i = old.find("\n" + SECTION)
    if i >= 0:
        j = old.find("\n## ", i + 1)
        text = old[:i + 1] + new + ("\n" + old[j + 1:] if j >= 0 else "")
    else:
        j = old.find("\n" + WHAT_WAS_TRIED)
        text = old[:j + 1] + new + "\n" + old[j + 1:] if j >= 0 else old.rstrip("\n") + "\n\n" + new
    with open(out_path + ".tmp", "w") as f:
        f.write(text)
    os.replace(out_path + ".tmp", out_path)


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--rate":
        rate_row(*sys.argv[2:])
    elif len(sys.argv) == 4 and sys.argv[1] == "--bytes":
        print(int(parse_rate(sys.argv[2]) * float(sys.argv[3])))
    elif len(sys.argv) == 3:
        write(*sys.argv[1:])
    else:
        sys.exit(__doc__)
