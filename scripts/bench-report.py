#!/usr/bin/env python3
"""Writes BENCHMARKS.md from the raw results of scripts/bench.sh.

    bench-report.py RESULTS.tsv OUT.md

RESULTS.tsv lines (tab-separated):
    workload WL NAME DESCRIPTION
    run      WL TOOL ROUND WALL_S CPU_S CPU_SEND_S CPU_RECV_S CPU_CLI_S HWM_S HWM_R RSS_S RSS_R
             (the last four: the peershare agents' VmHWM and VmRSS in KiB after the run; else 0)
    rss      WL SENDER_KIB RECEIVER_KIB          (WL "small": after first contact + latency)
    first    I WALL_S
    latency  COMMAND T1 T2 ...                   (hyperfine's times, seconds)
    meta     KEY VALUE

A "## What was tried" section already in OUT.md is kept as it is; otherwise one is started with
this run as the baseline. A "## Shaped links" section (scripts/bench-links.sh) is kept as it is.
"""
import datetime
import os
import re
import statistics
import subprocess
import sys

TOOLS = ["tarnc", "scp", "rsync", "peershare"]
TOOL_NAMES = {"tarnc": "tar \\| nc", "scp": "scp -r", "rsync": "rsync -a", "peershare": "peershare"}
TITLES = {
    "big": "One large file of random bytes",
    "tree": "Source-tree-like folder",
    "photos": "Photo-library-like folder",
}
TARGET_RATIO = {"big": 1.6, "tree": 1.5}
RSS_TARGET_KIB = 64 * 1024
WHAT_WAS_TRIED = "## What was tried"
SHAPED_LINKS = "## Shaped links"


def run(cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, check=False).stdout.rstrip()
    except OSError:
        return "?"


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "?"


def mib(kib):
    return f"{kib / 1024:.1f} MiB"


def fmt_bytes(n):
    if n >= 1 << 30:
        return f"{n / (1 << 30):.2f} GiB"
    return f"{n / (1 << 20):.1f} MiB"


def main(results_path, out_path):
    workloads = {}  # wl -> (name, desc)
    runs = {}  # (wl, tool) -> list of dicts, in round order
    rss = {}  # wl -> (sender_kib, receiver_kib)
    first = []
    latency = None
    meta = {}
    with open(results_path) as f:
        for raw in f:
            p = raw.rstrip("\n").split("\t")
            if p[0] == "workload":
                workloads[p[1]] = (p[2], p[3])
            elif p[0] == "run":
                wl, tool, rnd = p[1], p[2], int(p[3])
                wall, cpu, cs, cr, cli = map(float, p[4:9])
                hs, hr, rs_, rr = (list(map(int, p[9:13])) + [0, 0, 0, 0])[:4]
                runs.setdefault((wl, tool), []).append(
                    {"round": rnd, "wall": wall, "cpu": cpu, "send": cs, "recv": cr, "cli": cli,
                     "hwm_s": hs, "hwm_r": hr, "rss_s": rs_, "rss_r": rr})
            elif p[0] == "rss":
                rss[p[1]] = (int(p[2]), int(p[3]))
            elif p[0] == "first":
                first.append(float(p[2]))
            elif p[0] == "latency":
                latency = latency or {}
                latency[p[1]] = {"times": [float(x) for x in p[2:]]}
            elif p[0] == "meta":
                meta[p[1]] = p[2] if len(p) > 2 else ""

    quick = meta.get("quick") == "1"
    now = datetime.datetime.now().astimezone()
    date = meta.get("date") or now.strftime("%Y-%m-%d %H:%M %Z")
    total_s = float(meta.get("seconds", "0"))
    med = {}
    for key, rs in runs.items():
        med[key] = (statistics.median(r["wall"] for r in rs), statistics.median(r["cpu"] for r in rs))

    def ratio(wl, tool):
        base = med.get((wl, "tarnc"), (0, 0))[0]
        return med[(wl, tool)][0] / base if base > 0 else float("nan")

    def wl_bytes(wl):
        m = re.search(r"(\d+) bytes", workloads[wl][1])
        return int(m.group(1)) if m else 0

    out = []
    w = out.append
    w("# Benchmarks")
    w("")
    w(f"Written by `make bench` (`scripts/bench.sh`) on {date}; the whole run took "
      f"{total_s:.0f} s ({total_s / 60:.1f} min). peershare binary: `{meta.get('binary', '?')}`, built "
      f"{meta.get('binary_time', '?')}, sha256 {meta.get('binary_sha', '?')}…, copied aside at the start; "
      f"work tree: {meta.get('commit', '?')}.")
    w("")
    if quick:
        w("> **Quick mode (`BENCH_QUICK=1`): small workloads, only for checking the script. "
          "These figures say nothing about the targets.**")
        w("")

    # Targets.
    w("## Targets (from the issue)")
    w("")
    w("| target | this run | met |")
    w("|---|---|---|")
    for wl, limit in TARGET_RATIO.items():
        if (wl, "peershare") in med:
            r = ratio(wl, "peershare")
            w(f"| {TITLES[wl]} ({fmt_bytes(wl_bytes(wl))}): peershare ≤ {limit}× tar\\|nc | {r:.2f}× ({med[(wl, 'peershare')][0]:.3f} s vs "
              f"{med[(wl, 'tarnc')][0]:.3f} s) | {'yes' if r <= limit else '**no**'} |")
    if rss:
        worst = max(max(v) for v in rss.values())
        w(f"| peak RSS of either agent ≤ 64 MiB for any workload | largest {mib(worst)} ({worst} KiB) | "
          f"{'yes' if worst <= RSS_TARGET_KIB else '**no**'} |")
        order = ["small"] + [wl for wl in ("tree", "photos", "big") if wl in rss]
        parts = []
        for wl in order:
            if wl in rss:
                label = "one 4 KiB file" if wl == "small" else f"{TITLES[wl].lower()}, {fmt_bytes(wl_bytes(wl))}"
                parts.append(f"{label}: {mib(rss[wl][0])} / {mib(rss[wl][1])}")
        w(f"| peak RSS flat as the size grows (sender / receiver) | {'; '.join(parts)} | see the figures |")
    w("")

    # Machine.
    w("## Machine")
    w("")
    w(f"- CPUs (`nproc`): {run(['nproc'])}; CPU model: {cpu_model()}")
    w(f"- Kernel: {run(['uname', '-srm'])}")
    w(f"- Date: {date}")
    w(f"- Files on: {meta.get('fs', '?')} (`{meta.get('tmpdir', '?')}`)")
    w(f"- Load average (`/proc/loadavg`, 1/5/15 min) at the start: {meta.get('load_start', '?')}; "
      f"at the end: {meta.get('load_end', '?')}. CPU pressure (`/proc/pressure/cpu`, share of time some "
      f"task waited for a CPU, 10 s / 60 s / 300 s) at the start: {meta.get('psi_start', '?') or '?'}; at the end: "
      f"{meta.get('psi_end', '?') or '?'}. The machine is shared: other work running at the same time "
      "shows as noise in the runs below.")
    w("- Memory (`free -h`):")
    w("")
    w("```")
    w(run(["free", "-h"]))
    w("```")
    w("")
    w(f"- Tools: {meta.get('ssh_version', '?')}; {meta.get('rsync_version', '?')}; "
      f"{meta.get('tar_version', '?')}; {meta.get('nc_version', '?')}")
    w("")

    # Method.
    runs_n = meta.get("runs", "?")
    w("## Method")
    w("")
    w("- Everything runs on this one machine over loopback (127.0.0.1): both ends share its CPUs, "
      "and the network costs nothing, so the figures compare the tools' own CPU and I/O work.")
    binary = meta.get("binary", "?")
    if "static" in binary:
        w(f"- peershare is `{binary}`, the release build with the Swift runtime linked in statically that "
          "`make install` and the .deb ship (`make bench` builds it); with no Swift shared libraries to load "
          "it starts faster than the dynamically linked `.build/release/peershare`, which shows in the short sends.")
    else:
        w(f"- peershare is `{binary}` (PEERSHARE_BIN), not the static build that `make install` ships.")
    w(f"- For each workload, {runs_n} rounds; in each round every tool copies the workload once and the "
      "order rotates (round 1: tar\\|nc, scp, rsync, peershare; round 2: scp, rsync, peershare, tar\\|nc; "
      "and so on). The table gives the median of the rounds; the ratio is the tool's median over the "
      "tar\\|nc median of the same run.")
    w("- Warm cache: the page cache is not dropped (a shared machine); instead every source is read "
      "once before its timed runs, so all tools read from memory. Received copies are written into "
      "the page cache of the same file system; after each run the copy is checked, then deleted "
      "(the source-tree copies only at the end, see below) and `sync -f` is run (untimed), so no "
      "writeback is left over for the next run.")
    w("- The source-tree copies are moved aside and deleted only after the last timed run: on ext4, "
      "creating 8,000 files within about half a minute after deleting 8,000 others was several times "
      "slower (ext4 skips recently freed inodes when it allocates; `tar -x` of the tree went from about "
      "0.2 s to about 3 s of system time), which would have charged one tool for the previous tool's "
      "clean-up.")
    w("- Wall time, from starting the sending command: tar\\|nc `tar -C src -cf - NAME | nc -q0 127.0.0.1 PORT` "
      "into `nc -l 127.0.0.1 PORT | tar -C dst -xf -` (the receiving end is listening before the clock "
      "starts; the clock stops when both ends have exited); `scp -r` and `rsync -a` until the client "
      "exits (each time a new ssh connection with key authentication, as a user runs them); peershare: "
      "`peershare send NAME --to 127.0.0.1:PORT --json` through the already running sender agent to the "
      "already running, already paired receiver agent, until `send` exits (exit 0 comes only after the "
      "receiver confirmed every file written). The receiver agent is always restarted on the same port: "
      "`send --to HOST:PORT` finds the receiver's pinned key by that address, so on another port it would "
      "ask for the pairing code again (checked with an untimed send after each restart).")
    w(f"- ssh: a private `sshd` on 127.0.0.1 (throwaway keys, started and stopped by the script), the "
      f"default algorithms: cipher {meta.get('ssh_cipher', '?')}, key exchange {meta.get('ssh_kex', '?')}, "
      "no compression. `scp` uses the SFTP protocol (the OpenSSH 9 default); `rsync -a` runs "
      "`rsync --server` over ssh (no `-z`).")
    w("- CPU s = user + system time of both ends. tar\\|nc: `/usr/bin/time` around each end's "
      "pipeline. scp and rsync: `/usr/bin/time` around the client (with its `ssh`), plus the growth of the "
      "sshd listener's utime+stime+cutime+cstime once the connection's processes are reaped (the whole "
      "server side: sshd session, sftp-server or rsync). peershare: the growth of utime+stime "
      "(`/proc/PID/stat`) of the sender and the receiver agent; the `peershare send` command, which only "
      "relays the agent's events, is not counted (its median is given under each table).")
    w("- Peak RSS: `VmHWM` of each agent (`/proc/PID/status`) after all runs of a workload; both agents "
      "are restarted before each workload, so the figure is that workload's peak.")
    w("- Every received copy is compared with the source: `diff -r --no-dereference`; for peershare "
      "and rsync also the type, mode and mtime (to the nanosecond) of every entry, symlinks and "
      "directories included. `scp -r` follows symlinks (it writes the target's content as a regular "
      "file), so its copy is compared with `diff -r` with symlinks followed. A difference stops the benchmark.")
    w("- Workloads are generated deterministically (`scripts/bench-gen.py`, fixed seeds; the large file "
      "is an AES-128-CTR keystream of a fixed key), with fixed modes and mtimes.")
    w("")

    # Results.
    w("## Results")
    w("")
    for n, wl in enumerate(("big", "tree", "photos"), 1):
        if wl not in workloads:
            continue
        name, desc = workloads[wl]
        total = wl_bytes(wl)
        w(f"### {n}. {TITLES[wl]} (`{name}`: {desc})")
        w("")
        w("| tool | median s | ratio to tar\\|nc | MiB/s | CPU s (both ends) | peak RSS sender / receiver |")
        w("|---|---:|---:|---:|---:|---|")
        for tool in TOOLS:
            if (wl, tool) not in med:
                continue
            m, c = med[(wl, tool)]
            rate = total / (1 << 20) / m if m > 0 else float("nan")
            peak = "—"
            if tool == "peershare" and wl in rss:
                s, r = rss[wl]
                peak = f"{mib(s)} / {mib(r)}"
            w(f"| {TOOL_NAMES[tool]} | {m:.3f} | {ratio(wl, tool):.2f} | {rate:.0f} | {c:.2f} | {peak} |")
        w("")
        if (wl, "peershare") in runs:
            ps = runs[(wl, "peershare")]
            w(f"peershare CPU split (medians): sender agent {statistics.median(r['send'] for r in ps):.2f} s, "
              f"receiver agent {statistics.median(r['recv'] for r in ps):.2f} s; the `send` command itself "
              f"{statistics.median(r['cli'] for r in ps):.2f} s (not counted above).")
            w("")
        if (wl, "peershare") in runs:
            ps = sorted(runs[(wl, "peershare")], key=lambda r: r["round"])
            if any(r["hwm_s"] for r in ps):
                w("peershare agents' memory after each of its runs, in round order, sender / receiver: "
                  "VmHWM " + ", ".join(f"{r['hwm_s']} / {r['hwm_r']}" for r in ps) + " KiB; VmRSS "
                  + ", ".join(f"{r['rss_s']} / {r['rss_r']}" for r in ps) + " KiB.")
                w("")
        w("All runs, in round order (wall s / CPU s):")
        w("")
        for tool in TOOLS:
            if (wl, tool) in runs:
                rs = sorted(runs[(wl, tool)], key=lambda r: r["round"])
                w(f"- {TOOL_NAMES[tool]}: " + ", ".join(f"{r['wall']:.3f} / {r['cpu']:.2f}" for r in rs))
        w("")

    w("## First contact (pairing with the code)")
    w("")
    if first:
        w(f"A send of one 4 KiB file between two agents that have never met (fresh identities each time), "
          f"with `peershare accept CODE` run on the receiver as soon as the `code` event appears; time from "
          f"starting `peershare send` to its exit. Median of {len(first)}: **{statistics.median(first):.3f} s** "
          f"(runs: {', '.join(f'{x:.3f}' for x in first)}). This includes the CPace pairing, the start of "
          f"the `accept` command and the transfer.")
    w("")

    w("## Small-file latency")
    w("")
    if latency:
        w(f"One 4 KiB file, from command start to exit, {meta.get('latency_runs', '?')} runs each after one "
          f"warm-up (hyperfine, which subtracts its shell's start-up time):")
        w("")
        w("| command | median s | min s | max s |")
        w("|---|---:|---:|---:|")
        descr = {"peershare": "`peershare send` (paired, through the running agent)",
                 "scp": "`scp` (new ssh connection, key authentication)"}
        for cmd in ("peershare", "scp"):
            if cmd in latency:
                t = latency[cmd]["times"]
                w(f"| {descr[cmd]} | {statistics.median(t):.4f} | {min(t):.4f} | {max(t):.4f} |")
        w("")

    # What was tried: kept from the existing file, or started with this run as the baseline.
    kept = None
    if os.path.exists(out_path):
        with open(out_path) as f:
            old = f.read()
        i = old.find("\n" + WHAT_WAS_TRIED)
        if i >= 0:
            kept = old[i + 1:].rstrip("\n")
        # The shaped-link figures (scripts/bench-links.sh) are kept as they are, before it.
        j = old.find("\n" + SHAPED_LINKS)
        if j >= 0:
            k = old.find("\n## ", j + 1)
            w(old[j + 1:k + 1 if k >= 0 else len(old)].rstrip("\n"))
            w("")
    if kept is not None:
        w(kept)
    else:
        w(WHAT_WAS_TRIED)
        w("")
        w("Each attempt to make peershare faster or leaner adds a subsection here: what changed, the "
          "figures before and after (`make bench` on the same machine), and whether it was kept. "
          "`make bench` rewrites everything above this section and keeps this section as it is.")
        w("")
        w(f"### Baseline ({date}{', quick mode' if quick else ''})")
        w("")
        w(f"The build benchmarked above (binary built {meta.get('binary_time', '?')}, sha256 "
          f"{meta.get('binary_sha', '?')}…; work tree: {meta.get('commit', '?')}), before any "
          "optimisation:")
        w("")
        for wl in ("big", "tree", "photos"):
            if (wl, "peershare") in med:
                m, c = med[(wl, "peershare")]
                peak = f", peak RSS {mib(rss[wl][0])} / {mib(rss[wl][1])}" if wl in rss else ""
                w(f"- {TITLES[wl]} ({workloads[wl][1]}): {m:.3f} s = {ratio(wl, 'peershare'):.2f}× tar\\|nc "
                  f"({med[(wl, 'tarnc')][0]:.3f} s), CPU {c:.2f} s{peak}")
        if first:
            w(f"- First contact: {statistics.median(first):.3f} s")
        if latency and "peershare" in latency:
            w(f"- One small file, paired: {statistics.median(latency['peershare']['times']):.4f} s")
    w("")

    tmp = out_path + ".tmp"
    with open(tmp, "w") as f:
        f.write("\n".join(out))
    os.replace(tmp, out_path)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
