#!/usr/bin/env python3
"""Recomputes the hash-based values of docs/vectors from docs/PROTOCOL.md's formulas with
Python's standard library only (BLAKE2b, SHA-512, HMAC), as a second implementation would:
th, summaryKey, PRK, the four KDF keys, A_X and the confirmation tags, ISK, the resume keys
the fingerprints, and protocol 1.1's encodings, capability agreement and version fallback. With the `cryptography` package installed it checks the crypto_kx keys
too. Exits non-zero on any mismatch. Usage: python3 docs/vectors/check_vectors.py"""
import hashlib
import hmac
import json
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
failures = []
checked = []


def load(name):
    with open(os.path.join(HERE, name)) as f:
        return json.load(f)


def leb128(n):
    out = bytearray()
    while True:
        low, n = n & 0x7F, n >> 7
        out.append(low | 0x80 if n else low)
        if not n:
            return bytes(out)


def lv_cat(*items):
    return b"".join(leb128(len(x)) + x for x in items)


def blake2b(data, size, key=b"", salt=b"", person=b""):
    return hashlib.blake2b(data, digest_size=size, key=key, salt=salt, person=person).digest()


def check(what, computed, expected):
    ok = computed.hex() == expected if isinstance(computed, bytes) else computed == expected
    print(("ok   " if ok else "FAIL ") + what)
    checked.append(what)
    if not ok:
        failures.append(what)


def handshake(name):
    v = load(name)
    d, m = v["derived"], v["messages"]
    h = bytes.fromhex
    th = blake2b(lv_cat(b"peershare/v1/th", h(m["M1"]), h(m["M2"])), 64)
    check(f"{name} th", th, d["th"])
    kx_c2s, kx_s2c = h(d["kx_c2s"]), h(d["kx_s2c"])
    isk = h(d.get("ISK", ""))
    if v["mode"] == "PAIR":
        check(f"{name} summaryKey", blake2b(lv_cat(b"peershare/v1/summary", th), 32, key=kx_c2s), d["summaryKey"])
        check(f"{name} ISK", hashlib.sha512(lv_cat(b"CPaceRistretto255_ISK", th[:32], h(d["K"]), h(d["Ya"]), b"",
                                                   h(d["Yb"]), b"")).digest(), d["ISK"])
    prk = blake2b(lv_cat(b"peershare/v1/prk", th, isk), 32, key=kx_c2s + kx_s2c)
    check(f"{name} PRK", prk, d["PRK"])
    for number, key in enumerate(["kConfS", "kConfR", "k_c2s", "k_s2c"], 1):
        derived = blake2b(b"", 32, key=prk, salt=struct.pack("<Q", number) + bytes(8), person=b"pshr-hs1" + bytes(8))
        check(f"{name} {key}", derived, d[key])
    for role, conf in (("R", "kConfR"), ("S", "kConfS")):
        auth = lv_cat(b"peershare/v1/auth", role.encode(), th, h(d.get("Ya", "")), h(d.get("Yb", "")),
                      h(d.get("summaryHash", "")))
        check(f"{name} A_{role}", auth, d["A_" + role])
        tag = hmac.new(h(d[conf]), auth + lv_cat(h(d["sig" + role])), hashlib.sha512).digest()[:32]
        check(f"{name} tag{role}", tag, d["tag" + role])
    try:
        from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
    except ImportError:
        # CI (CI=true) installs python3-cryptography: there a missing package is a failure.
        if os.environ.get("CI") == "true":
            failures.append(name + " crypto_kx: the `cryptography` package is missing")
            print("FAIL " + name + " crypto_kx: no `cryptography` package")
        else:
            print("skip " + name + " crypto_kx (no `cryptography` package)")
        return
    secret = X25519PrivateKey.from_private_bytes(h(v["inputs"]["senderEphemeralSecretKey"]))
    shared = secret.exchange(X25519PublicKey.from_public_bytes(h(d["eR_pk"])))
    keys = blake2b(shared + h(d["eS_pk"]) + h(d["eR_pk"]), 64)
    check(f"{name} kx_s2c (client rx)", keys[:32], d["kx_s2c"])
    check(f"{name} kx_c2s (client tx)", keys[32:], d["kx_c2s"])


def resume():
    v = load("resume.json")
    sender = bytes.fromhex(v["senderIdentityKey"])
    tag = blake2b(lv_cat(b"peershare/v1/resume-sender", sender), 16).hex()
    check("resume senderTag", tag, v["senderTag"])
    for f in v["files"]:
        times = struct.pack(">QqI", f["size"], f["mtimeSeconds"], f["mtimeNanoseconds"])
        data = lv_cat(b"peershare/v1/resume-file", sender, f["path"].encode(), times)
        check(f"resume hashInput {f['path']}", data, f["hashInput"])
        check(f"resume fileKey {f['path']}", blake2b(data, 16), f["fileKey"])
    check("resume prefixHash", blake2b(bytes.fromhex(v["prefixData"]), 32), v["prefixHash"])


def fingerprints():
    for case in load("fingerprint.json")["cases"]:
        digest = blake2b(bytes.fromhex(case["identityKey"]), 16).hex()
        check("fingerprint " + case["full"], "-".join(digest[i:i + 4] for i in range(0, 32, 4)), case["full"])


def read_leb128(data, at):
    value, shift = 0, 0
    while True:
        byte = data[at]
        value |= (byte & 0x7F) << shift
        at += 1
        if not byte & 0x80:
            return value, at
        shift += 7


def decode_text(data):
    """TEXT (0x14, capability `text`): a varint length ≤ 65536, then exactly that many bytes
    of valid UTF-8; None when a receiver must refuse it."""
    if len(data) < 2 or data[0] != 0x14:
        return None
    length, at = read_leb128(data, 1)
    if length > 65536 or at + length != len(data):
        return None
    try:
        return data[at:].decode("utf-8")
    except UnicodeDecodeError:
        return None


def version_1_1():
    """Protocol 1.1 (docs/PROTOCOL.md, Versions): OFFER and ACCEPT are their 1.0 bytes plus a
    trailing capabilities varint; HELLO is laid out as a 1.1 ACCEPT under type 0x13."""
    v = load("version-1.1.json")
    base = {c["name"]: bytes.fromhex(c["hex"]) for c in load("stream-messages.json")["valid"]}
    for case in v["valid"]:
        data, caps = bytes.fromhex(case["hex"]), case.get("capabilities")
        if case["name"].startswith("OFFER"):
            check("1.1 " + case["name"], data, (base["OFFER"] + leb128(caps)).hex())
            continue
        if case["name"] == "TEXT":
            check("1.1 TEXT", decode_text(data), "héllo")
            continue
        caps = case["capabilities"]
        length, at = read_leb128(data, 1)
        value, end = read_leb128(data, at + length)
        ok = data[0] in (0x02, 0x13) and value == caps and end == len(data)
        if case["name"] == "ACCEPT":
            ok = ok and data[:at + length] == base["ACCEPT"]
        check("1.1 " + case["name"], ok, True)
    for case in v["invalid"]:
        if case["name"].startswith("TEXT"):
            check("1.1 refuses " + case["name"], decode_text(bytes.fromhex(case["hex"])), None)
    for case in v["agreement"]:
        check(f"1.1 agreement {case['offered']} & {case['receiverImplements']}",
              case["offered"] & case["receiverImplements"], case["accept"])
    for case in v["fallback"]:
        offered, text = case["offered"], case["abortText"]
        marker = "supported versions:"
        if marker in text:
            listed = [int(x) for x in text.rsplit(":", 1)[1].replace(" ", "").split(",") if x.isdigit()]
            lower = [x for x in listed if x < offered and x in (1, 2)]
            again = max(lower) if lower else None
        else:
            again = 1 if offered > 1 else None
        check(f"1.1 fallback from {offered} after '{text}'", again, case.get("dialAgainWith"))
    text = "unsupported protocol version 3; supported versions: 1,2".encode()
    frame = bytes([0x7F, 5]) + struct.pack(">H", len(text)) + text
    check("codes abortExamples versionRefused", frame, load("codes.json")["abortExamples"]["versionRefused"])


handshake("handshake-pair.json")
handshake("handshake-known.json")
resume()
fingerprints()
version_1_1()
print(f"vectors: {len(checked) - len(failures)} passed, {len(failures)} failed")
sys.exit(1 if failures else 0)
