#!/usr/bin/env python3
"""What an fdatasync costs on this disk, by how the file's blocks came to be.

Writes 4 KiB then fdatasync, N times, into a file in DIR three ways: appended to a new file,
into space reserved with posix_fallocate (as RocksDB reserves its write-ahead log), and over zeros
written and synced before. With --beside, a second process writes and syncs a 4 MiB file every
100 ms meanwhile (as flushes and compactions do). docs/BENCHMARKS.md, "The write-ahead log's
fsync", records the figures.

    python3 tools/fsync_probe.py [--dir=/tmp] [--count=3000] [--runs=2] [--beside]
"""
import argparse
import os
import subprocess
import sys
import time

BLOCK = 4096


def probe(path, how, count):
    data = os.urandom(BLOCK)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        if how == "fallocate":
            os.posix_fallocate(fd, 0, BLOCK * count)
            os.fsync(fd)
        elif how == "over zeros":
            os.write(fd, bytes(BLOCK * count))
            os.fsync(fd)
            os.lseek(fd, 0, os.SEEK_SET)
        times = []
        for _ in range(count):
            os.write(fd, data)
            start = time.perf_counter()
            os.fdatasync(fd)
            times.append((time.perf_counter() - start) * 1e3)
    finally:
        os.close(fd)
        os.unlink(path)
    times.sort()
    at = lambda q: times[min(len(times) - 1, int(q * len(times)))]
    print(f"{how:10s}  p50 {at(0.5):.3f} ms  p99 {at(0.99):.3f} ms  p99.9 {at(0.999):.3f} ms  "
          f"max {times[-1]:.3f} ms")


BESIDE = """
import os, sys, time
path = sys.argv[1]
while True:
    with open(path, "wb") as f:
        f.write(bytes(4 << 20))
        f.flush()
        os.fsync(f.fileno())
    os.unlink(path)
    time.sleep(0.1)
"""


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", default="/tmp")
    parser.add_argument("--count", type=int, default=3000)
    parser.add_argument("--runs", type=int, default=2)
    parser.add_argument("--beside", action="store_true")
    args = parser.parse_args()
    beside = None
    if args.beside:
        beside = subprocess.Popen([sys.executable, "-c", BESIDE,
                                   os.path.join(args.dir, "fsync_probe_beside.dat")])
    try:
        for _ in range(args.runs):
            for how in ("appended", "fallocate", "over zeros"):
                probe(os.path.join(args.dir, "fsync_probe.dat"), how, args.count)
    finally:
        if beside:
            beside.kill()
            beside.wait()
            try:
                os.unlink(os.path.join(args.dir, "fsync_probe_beside.dat"))
            except FileNotFoundError:
                pass


if __name__ == "__main__":
    main()
