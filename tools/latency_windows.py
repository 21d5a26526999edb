#!/usr/bin/env python3
"""When in a run the slow answers fell: reads a whistle-bench --trace file.

    python3 tools/latency_windows.py TRACE [--rocksdb-log=DATA/LOG] [--bucket-ms=20] [--slow-ms=2]

Prints the latency percentiles of the whole trace, then groups the run into buckets by when each
command was sent and lists the windows (runs of buckets next to each other) whose median answer
was slower than --slow-ms, with the share of all slow answers that fell in them. With the
dispatcher's RocksDB LOG (its data directory's LOG), each window also names the flushes and
compactions that ran during it, from RocksDB's event log (flush_started, flush_finished, ...),
which carries Unix microseconds as the trace's first line does.

It explains a tail, it does not measure one: the figures belong to whistle-bench's own report.
"""
import argparse
import json
import re
import sys


def percentile(sorted_values, p):
    if not sorted_values:
        return 0
    return sorted_values[min(len(sorted_values) - 1, int(len(sorted_values) * p))]


def read_trace(path):
    zero_us = None
    answers = []  # (sent_us, latency_us)
    with open(path) as f:
        for line in f:
            if line.startswith('#'):
                m = re.search(r'measured from (\d+)', line)
                if m:
                    zero_us = int(m.group(1))
                continue
            fields = line.split()
            if len(fields) >= 2:
                answers.append((int(fields[0]), int(fields[1])))
    return zero_us, answers


def read_jobs(path, zero_us):
    """Flush and compaction jobs from RocksDB's event log, as (start_ms, end_ms, what) from zero."""
    started = {}
    family_of_job = {}  # from lines like "[indexes] [JOB 8] Flushing memtable ..."
    jobs = []
    with open(path, errors='replace') as f:
        for line in f:
            m = re.search(r'\[([\w-]+)\] \[JOB (\d+)\]', line)
            if m:
                family_of_job[int(m.group(2))] = m.group(1)
            i = line.find('EVENT_LOG_v1 ')
            if i < 0:
                continue
            try:
                event = json.loads(line[i + len('EVENT_LOG_v1 '):])
            except json.JSONDecodeError:
                continue
            kind = event.get('event', '')
            at_ms = (event.get('time_micros', 0) - zero_us) / 1000
            job = event.get('job')
            if kind in ('flush_started', 'compaction_started'):
                what = kind.split('_')[0]
                if job in family_of_job:
                    what += ' ' + family_of_job[job]
                started[job] = (at_ms, what)
            elif kind in ('flush_finished', 'compaction_finished') and job in started:
                start_ms, what = started.pop(job)
                jobs.append((start_ms, at_ms, what))
    # Started and not finished when the log was read (or the process stopped): running to the end.
    jobs.extend((start_ms, float('inf'), what) for start_ms, what in started.values())
    return jobs


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('trace')
    parser.add_argument('--rocksdb-log')
    parser.add_argument('--bucket-ms', type=float, default=20)
    parser.add_argument('--slow-ms', type=float, default=2)
    args = parser.parse_args()
    if args.bucket_ms <= 0:
        parser.error('--bucket-ms must be above 0')

    zero_us, answers = read_trace(args.trace)
    if not answers:
        sys.exit(f'{args.trace}: no answers')
    latencies = sorted(latency for _, latency in answers)
    slow_us = args.slow_ms * 1000
    slow = sum(1 for latency in latencies if latency > slow_us)
    print(f'{len(answers)} answers: p50 {percentile(latencies, 0.5) / 1000:.2f} ms, '
          f'p99 {percentile(latencies, 0.99) / 1000:.2f} ms, p99.9 {percentile(latencies, 0.999) / 1000:.2f} ms; '
          f'{slow} ({100 * slow / len(answers):.1f}%) slower than {args.slow_ms:g} ms')

    bucket_us = args.bucket_ms * 1000
    buckets = {}
    for sent_us, latency in answers:
        buckets.setdefault(int(sent_us // bucket_us), []).append(latency)
    slow_buckets = sorted(b for b, v in buckets.items() if percentile(sorted(v), 0.5) > slow_us)
    windows = []  # [first bucket, last bucket]
    for b in slow_buckets:
        if windows and b <= windows[-1][1] + 1:
            windows[-1][1] = b
        else:
            windows.append([b, b])
    in_windows = sum(1 for b in slow_buckets for latency in buckets[b] if latency > slow_us)
    print(f'{len(slow_buckets)} of {len(buckets)} buckets of {args.bucket_ms:g} ms had a median slower than '
          f'{args.slow_ms:g} ms, in {len(windows)} windows; they hold {in_windows} of the {slow} slow answers')

    jobs = []
    if args.rocksdb_log:
        if zero_us is None:
            sys.exit(f'{args.trace}: no "# measured from" line, so no common clock with the RocksDB log')
        jobs = read_jobs(args.rocksdb_log, zero_us)
    for first, last in windows:
        start_ms, end_ms = first * args.bucket_ms, (last + 1) * args.bucket_ms
        latencies_in = sorted(l for b in range(first, last + 1) for l in buckets.get(b, []))
        line = (f'  {start_ms / 1000:8.3f} s  {end_ms - start_ms:5.0f} ms  '
                f'median {percentile(latencies_in, 0.5) / 1000:.2f} ms, max {latencies_in[-1] / 1000:.2f} ms')
        if args.rocksdb_log:
            during = sorted({what for s, e, what in jobs if s < end_ms and e > start_ms})
            line += '  during: ' + (', '.join(during) if during else 'no flush or compaction')
        print(line)


if __name__ == '__main__':
    main()
