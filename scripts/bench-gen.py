#!/usr/bin/env python3
"""Deterministic workloads for scripts/bench.sh (same seed -> same bytes, names, modes, mtimes).

    bench-gen.py tree   DEST FILES SEED    source-tree-like folder: nested directories, FILES small
                                           text files (200 B .. 64 KiB, log-uniform, so mostly small),
                                           about 1% relative symlinks to files inside the folder,
                                           a few executables and two empty directories
    bench-gen.py photos DEST FILES SEED    photo-library-like folder: FILES files of 1..10 MB random
                                           bytes in year/month folders

DEST must not exist. Files are 0644 (executables 0755), directories 0755, and every entry,
symlinks and directories included, gets a fixed mtime with a nanosecond part. Prints a one-line
summary (files, directories, symlinks, bytes).
"""
import math
import os
import random
import sys

BASE_TIME = 1_700_000_000  # 2023-11-14, so mtimes never look like "now"

WORDS = (
    "core net util io fs crypto wire codec session agent control model view test docs "
    "lib src internal api server client proto store cache index parse render config "
    "sched queue buffer stream frame peer trust path error log metrics bench tools"
).split()
EXTS = [".c", ".h", ".swift", ".py", ".rs", ".go", ".md", ".json", ".txt", ".sh"]
TOKENS = (
    "let var func return if else for while in guard struct class enum case switch import "
    "self nil true false try await async throws static private public init deinit { } ( ) "
    "[ ] = == != < > + - * / , ; : -> // buffer count index offset length value result "
    "error data bytes header frame stream key nonce peer path name mode size 0 1 2 42 255 "
    "4096 65536 0x7f uint64 int32 string array map"
).split()


def set_time(rng, path, follow=True):
    ns = (BASE_TIME + rng.randrange(0, 30_000_000)) * 1_000_000_000 + rng.randrange(0, 1_000_000_000)
    os.utime(path, ns=(ns, ns), follow_symlinks=follow)


def text_pool(rng, size):
    """Pseudo-source text: lines of tokens with indentation."""
    out = []
    total = 0
    while total < size:
        indent = "    " * rng.randrange(0, 4)
        line = indent + " ".join(rng.choice(TOKENS) for _ in range(rng.randrange(2, 14))) + "\n"
        out.append(line)
        total += len(line)
    return "".join(out).encode()[:size]


def make_dirs(rng, dest, count, max_depth):
    """count directories (dest included) as a random tree no deeper than max_depth."""
    dirs = [("", 0)]
    names_in = {"": set()}
    while len(dirs) < count:
        parent, depth = rng.choice(dirs)
        if depth >= max_depth:
            continue
        base = rng.choice(WORDS)
        name = base if base not in names_in[parent] else f"{base}{rng.randrange(2, 99)}"
        if name in names_in[parent]:
            continue
        names_in[parent].add(name)
        rel = os.path.join(parent, name) if parent else name
        names_in[rel] = set()
        dirs.append((rel, depth + 1))
    for rel, _ in dirs:
        os.makedirs(os.path.join(dest, rel), exist_ok=True)
    return [rel for rel, _ in dirs], names_in


def finish_dirs(rng, dest, rels):
    # Deepest first, so setting a parent's time comes after every change inside it.
    for rel in sorted(rels, key=lambda r: (-r.count(os.sep) - (1 if r else 0), r)):
        path = os.path.join(dest, rel) if rel else dest
        os.chmod(path, 0o755)
        set_time(rng, path)


def gen_tree(dest, files, seed):
    rng = random.Random(seed)
    os.makedirs(dest)
    dir_count = max(4, files // 12)
    rels, names_in = make_dirs(rng, dest, dir_count, 6)
    pool = text_pool(rng, 4 << 20)
    lo, hi = math.log(200), math.log(64 * 1024)
    made = []
    total = 0
    for i in range(files):
        d = rng.choice(rels)
        ext = rng.choice(EXTS)
        name = f"{rng.choice(WORDS)}_{i}{ext}"
        size = min(64 * 1024, int(math.exp(rng.uniform(lo, hi))))
        start = rng.randrange(0, len(pool) - size)
        rel = os.path.join(d, name) if d else name
        path = os.path.join(dest, rel)
        with open(path, "wb") as f:
            f.write(pool[start:start + size])
        os.chmod(path, 0o755 if ext == ".sh" else 0o644)
        set_time(rng, path)
        names_in[d].add(name)
        made.append(rel)
        total += size
    links = 0
    for i in range(max(2, files // 100)):
        d = rng.choice(rels)
        target = rng.choice(made)
        name = f"link_{i}"
        if name in names_in[d]:
            continue
        names_in[d].add(name)
        link = os.path.join(dest, d, name) if d else os.path.join(dest, name)
        os.symlink(os.path.relpath(os.path.join(dest, target), os.path.dirname(link)), link)
        set_time(rng, link, follow=False)
        links += 1
    for name in ("empty", "build/cache"):
        os.makedirs(os.path.join(dest, name), exist_ok=True)
        rels.append(name)
    rels.append("build")
    finish_dirs(rng, dest, set(rels))
    print(f"{files} files, {len(set(rels))} directories, {links} symlinks, {total} bytes")


def gen_photos(dest, files, seed):
    rng = random.Random(seed)
    os.makedirs(dest)
    rels = [""]
    total = 0
    for i in range(files):
        d = f"{2018 + i * 6 // max(files, 1)}/{1 + rng.randrange(12):02d}"
        if d not in rels:
            os.makedirs(os.path.join(dest, d), exist_ok=True)
            rels.extend([d.split("/")[0], d])
        size = rng.randrange(1_000_000, 10_000_001)
        path = os.path.join(dest, d, f"IMG_{i + 1:04d}.JPG")
        with open(path, "wb") as f:
            left = size
            while left:
                n = min(left, 1 << 20)
                f.write(rng.randbytes(n))
                left -= n
        os.chmod(path, 0o644)
        set_time(rng, path)
        total += size
    finish_dirs(rng, dest, set(rels))
    print(f"{files} files, {len(set(rels))} directories, 0 symlinks, {total} bytes")


def main(argv):
    if len(argv) != 5 or argv[1] not in ("tree", "photos"):
        sys.exit(__doc__)
    kind, dest, files, seed = argv[1], argv[2], int(argv[3]), int(argv[4])
    os.umask(0o022)
    (gen_tree if kind == "tree" else gen_photos)(dest, files, seed)


if __name__ == "__main__":
    main(sys.argv)
