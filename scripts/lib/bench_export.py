"""Helpers for scripts/bench-export (run with the repository's .venv/bin/python; needs only the
standard library and Microsoft's azure-storage-blob from scripts/requirements-dev.txt).

    gen PATH SIZE_MB                     write a CSV of about SIZE_MB MB (10^6 bytes) of mixed types
    measure OUT.json STDOUT STDERR WATCH_PID -- CMD...
                                         run CMD, write its wall time, user and system CPU seconds,
                                         peak RSS (from wait4, as /usr/bin/time reports it), exit
                                         code, and the CPU seconds process WATCH_PID (Azurite) used
                                         meanwhile
    container ENDPOINT TOKEN NAME        create a container (with the account SAS)
    upload ENDPOINT TOKEN CONTAINER BLOB PATH CONCURRENCY BLOCK_MIB
                                         the Python SDK peer: upload_blob of the file
    download ENDPOINT TOKEN CONTAINER BLOB PATH
                                         download a blob into a file; print its MD5 (hex)
    md5 PATH                             the MD5 (hex) of a file
    verify ENDPOINT TOKEN CONTAINER BLOB SIZE MD5_HEX props|full none|gzip|zstd CONTENT_MD5_HEX
                                         check a blob: its size, its Content-MD5 if it has one,
                                         and with `full` the MD5 of its (decompressed) bytes
    report RESULTS.jsonl CSV_BYTES COMMAND
                                         print the results table, then the same as Markdown
"""

import base64
import hashlib
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import threading
import time

MIB = 1024 * 1024


def service(endpoint, token, **options):
    from azure.storage.blob import BlobServiceClient

    return BlobServiceClient(account_url=endpoint, credential=token.lstrip("?"), **options)


# --- data ----------------------------------------------------------------------------------------

NOTES = [
    "plain",
    "customer {a}, order {b}",
    'says "hi", then leaves',
    "",
    "Zoë Ålund",
    "{a}",
    "two\nlines",
]


def gen(path, size_mb):
    """About size_mb MB of CSV: id, integers with nulls, money decimals, floats of every
    magnitude (some in exponent notation), booleans, dates, UTC timestamps with microseconds, and
    text with commas, quotes, line breaks, non-ASCII letters and empty strings.

    Rows are built from two pools of column groups (65,537 and 65,521 rows: coprime, so the
    combination repeats only after 4 billion rows) plus a running id, which is fast enough in pure
    Python (about 10 s per GB) and still makes every row different."""
    target = int(size_mb * 1_000_000)
    rng = random.Random(42)

    def part_a():
        customer = rng.randrange(1, 2_000_000)
        qty = "" if rng.random() < 0.05 else str(rng.randrange(1, 500))
        price = f"{rng.randrange(0, 100000)}.{rng.randrange(0, 100):02d}"
        if rng.random() < 0.1:
            ratio = f"{(rng.random() - 0.5) * 1e12:.6e}"
        else:
            ratio = repr((rng.random() - 0.5) * 10 ** rng.randrange(-3, 7))
        return f"{customer},{qty},{price},{ratio}"

    def part_b():
        flag = "true" if rng.random() < 0.5 else "false"
        y, m, d = rng.randrange(2000, 2030), rng.randrange(1, 13), rng.randrange(1, 29)
        day = f"{y:04d}-{m:02d}-{d:02d}"
        ts = (
            f"{rng.randrange(2000, 2030):04d}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}"
            f"T{rng.randrange(24):02d}:{rng.randrange(60):02d}:{rng.randrange(60):02d}"
            f".{rng.randrange(1000000):06d}Z"
        )
        note = rng.choice(NOTES).format(a=rng.randrange(10**6), b=rng.randrange(10**6))
        if note == "" or any(c in note for c in ',"\n'):
            note = '"' + note.replace('"', '""') + '"'
        return f"{flag},{day},{ts},{note}"

    a = [part_a() for _ in range(65537)]
    b = [part_b() for _ in range(65521)]
    na, nb = len(a), len(b)
    written = 0
    row = 0
    batch = 100_000
    with open(path, "wb") as f:
        header = b"id,customer,qty,price,ratio,flag,day,ts,note\n"
        f.write(header)
        written += len(header)
        while written < target:
            chunk = "".join(
                [f"{j},{a[j % na]},{b[j % nb]}\n" for j in range(row, row + batch)]
            ).encode("utf-8")
            f.write(chunk)
            written += len(chunk)
            row += batch
    print(json.dumps({"rows": row, "bytes": written}))


# --- measuring -----------------------------------------------------------------------------------


def cpu_seconds(pid):
    """User plus system CPU seconds of a running process (0 if it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measure(out, stdout, stderr, watch, cmd):
    watch = int(watch)
    with open(stdout, "wb") as so, open(stderr, "wb") as se:
        watched_before = cpu_seconds(watch)
        started = time.monotonic()
        child = subprocess.Popen(cmd, stdout=so, stderr=se, stdin=subprocess.DEVNULL)
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.monotonic() - started
        watched = cpu_seconds(watch) - watched_before
    child.returncode = os.waitstatus_to_exitcode(status)
    result = {
        "wall": wall,
        "user": usage.ru_utime,
        "sys": usage.ru_stime,
        "maxrss_kib": usage.ru_maxrss,  # KiB on Linux
        "rc": child.returncode,
        "watched_cpu": watched,
    }
    with open(out, "w") as f:
        json.dump(result, f)


# --- Azure ---------------------------------------------------------------------------------------


def container(endpoint, token, name):
    service(endpoint, token).create_container(name)


def upload(endpoint, token, container_name, blob, path, concurrency, block_mib):
    block = int(block_mib) * MIB
    svc = service(endpoint, token, max_block_size=block, max_single_put_size=block)
    with open(path, "rb") as f:
        svc.get_blob_client(container_name, blob).upload_blob(
            f, overwrite=True, max_concurrency=int(concurrency)
        )


def download(endpoint, token, container_name, blob, path):
    client = service(endpoint, token).get_blob_client(container_name, blob)
    with open(path, "wb") as f:
        client.download_blob(max_concurrency=4, decompress=False).readinto(f)
    print(md5_file(path))


def md5_file(path):
    h = hashlib.md5()
    with open(path, "rb") as f:
        while chunk := f.read(4 * MIB):
            h.update(chunk)
    return h.hexdigest()


def verify(endpoint, token, container_name, blob, size, md5_hex, depth, codec, content_md5_hex):
    """Checks a blob's size and Content-MD5 (if it has one) against SIZE and MD5_HEX; with
    depth=full also downloads it and compares the MD5 of its bytes, decompressed with the
    standard `gzip`/`zstd` tools for codec gzip/zstd, with CONTENT_MD5_HEX."""
    client = service(endpoint, token).get_blob_client(container_name, blob)
    props = client.get_blob_properties()
    problems = []
    blob_md5 = props.content_settings.content_md5
    blob_md5 = bytes(blob_md5).hex() if blob_md5 else None
    if props.size != int(size):
        problems.append(f"size {props.size}, expected {size}")
    if blob_md5 and blob_md5 != md5_hex:
        problems.append(f"Content-MD5 {blob_md5}, expected {md5_hex}")
    checked = "size" + (", Content-MD5" if blob_md5 else "")

    def raw_chunks():
        # Raw bytes: the SDK would otherwise undo a Content-Encoding itself.
        return client.download_blob(max_concurrency=4, decompress=False).chunks()

    if depth == "full":
        h = hashlib.md5()
        content_checked = True
        if codec == "none":
            for chunk in raw_chunks():
                h.update(chunk)
            checked += ", MD5 of the downloaded bytes"
        elif shutil.which(codec) is None:
            content_checked = False
            checked += f" (no `{codec}` command: the decompressed bytes are not checked)"
        else:
            proc = subprocess.Popen(
                [shutil.which(codec), "-dc"], stdin=subprocess.PIPE, stdout=subprocess.PIPE
            )

            def feed():
                try:
                    for chunk in raw_chunks():
                        proc.stdin.write(chunk)
                except BrokenPipeError:
                    pass  # the decompressor gave up; its exit code says so
                finally:
                    proc.stdin.close()

            feeder = threading.Thread(target=feed)
            feeder.start()
            while chunk := proc.stdout.read(4 * MIB):
                h.update(chunk)
            feeder.join()
            if proc.wait() != 0:
                problems.append(f"`{codec} -dc` failed on the blob")
            checked += f", MD5 of the bytes `{codec} -dc` gives back"
        if content_checked and h.hexdigest() != content_md5_hex:
            problems.append(f"content MD5 {h.hexdigest()}, expected {content_md5_hex}")
    if problems:
        print(f"MISMATCH {container_name}/{blob}: " + "; ".join(problems))
        sys.exit(1)
    print(f"checked {checked} ({props.size} bytes)")


# --- report --------------------------------------------------------------------------------------


def report(results, csv_bytes, command):
    runs = [json.loads(line) for line in open(results) if line.strip()]
    csv_bytes = int(csv_bytes)
    tools = []
    for r in runs:
        if r["tool"] not in tools:
            tools.append(r["tool"])
    rows = []
    medians = {}
    for tool in tools:
        mine = [r for r in runs if r["tool"] == tool and r["rc"] == 0]
        if not mine:
            continue
        wall = statistics.median(r["wall"] for r in mine)
        medians[tool] = wall
        rows.append(
            {
                "tool": tool,
                "label": mine[0]["label"],
                "n": len(mine),
                "wall": wall,
                "min": min(r["wall"] for r in mine),
                "max": max(r["wall"] for r in mine),
                "mbps": csv_bytes / wall / 1e6,
                "rss": max(r["maxrss_kib"] for r in mine) / 1024,
                "cpu": statistics.median((r["user"] + r["sys"]) / r["wall"] for r in mine),
                "azurite": statistics.median(r["watched_cpu"] / r["wall"] for r in mine),
                "blob": mine[0].get("blob_bytes", csv_bytes),
            }
        )
    base = medians.get("azcopy")
    for r in rows:
        r["ratio"] = f"{r['wall'] / base:.2f}" if base else "n/a"

    head = ["tool", "runs", "median s", "min–max s", "MB/s", "× AzCopy", "peak RSS MiB",
            "CPU cores", "Azurite cores", "blob MB"]

    def cells(r):
        return [
            r["label"], str(r["n"]), f"{r['wall']:.2f}", f"{r['min']:.2f}–{r['max']:.2f}",
            f"{r['mbps']:.0f}", r["ratio"], f"{r['rss']:.0f}", f"{r['cpu']:.2f}",
            f"{r['azurite']:.2f}", f"{r['blob'] / 1e6:.0f}",
        ]

    table = [head] + [cells(r) for r in rows]
    widths = [max(len(row[i]) for row in table) for i in range(len(head))]
    print()
    for i, row in enumerate(table):
        print("  ".join(c.ljust(w) if j == 0 else c.rjust(w) for j, (c, w) in enumerate(zip(row, widths))))
        if i == 0:
            print("  ".join("-" * w for w in widths))
    failed = [r for r in runs if r["rc"] != 0]
    for r in failed:
        print(f"failed: {r['label']} round {r['round']} (exit code {r['rc']})")

    print()
    print("Markdown:")
    print()
    print(f"`{command}` — CSV of {csv_bytes / 1e6:.0f} MB; median of the rounds; MB/s of CSV bytes; "
          "CPU and Azurite cores = CPU seconds / wall seconds.")
    print()
    print("| " + " | ".join(head) + " |")
    print("|" + "|".join(["---"] + ["---:"] * (len(head) - 1)) + "|")
    for r in rows:
        print("| " + " | ".join(cells(r)) + " |")


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "gen":
        gen(args[0], float(args[1]))
    elif cmd == "measure":
        sep = args.index("--")
        measure(*args[:sep], args[sep + 1 :])
    elif cmd == "container":
        container(*args)
    elif cmd == "upload":
        upload(*args)
    elif cmd == "download":
        download(*args)
    elif cmd == "md5":
        print(md5_file(args[0]))
    elif cmd == "verify":
        verify(*args)
    elif cmd == "report":
        report(*args)
    else:
        sys.exit(f"bench_export.py: unknown command {cmd!r}")


if __name__ == "__main__":
    main()
