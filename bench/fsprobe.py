"""File-system probe run both inside a sandbox and natively, with the same interpreter
(/usr/bin/python3) on the same files, by bench/scenarios/fileAccess.ts.

It times the operations in-process, so the cost of starting a sandbox or an interpreter
is not part of any figure. Prints one JSON object.
"""
import json
import os
import shutil
import statistics
import subprocess
import sys
import time


def arg(name, default=None):
    if name in sys.argv:
        return sys.argv[sys.argv.index(name) + 1]
    return default


def ms_since(t0):
    return (time.perf_counter() - t0) * 1000.0


def read_loop(path, loops, passes):
    # Open, read all, close: what a tool reading a source file does. Split into passes and
    # keep the median pass, so a burst of other work on the machine does not decide it.
    per_pass = max(1, loops // passes)
    times = []
    for _ in range(passes):
        t0 = time.perf_counter()
        for _ in range(per_pass):
            with open(path, 'rb') as f:
                f.read()
        times.append(ms_since(t0) / per_pass)
    return statistics.median(times)


def walk_files(root):
    out = []
    for dirpath, dirnames, filenames in os.walk(root):
        if dirpath == root and 'output' in dirnames:
            dirnames.remove('output')  # the probe's own writes from earlier repeats
        for name in filenames:
            out.append(os.path.join(dirpath, name))
    return out


def main():
    result = {}
    # Every figure is the median of several passes: one scheduler hiccup must not decide it.
    passes = int(arg('--passes', '5'))
    result['read1k_ms'] = read_loop(arg('--read1k'), int(arg('--loops1k')), passes)
    result['read1m_ms'] = read_loop(arg('--read1m'), int(arg('--loops1m')), passes)

    files = walk_files('.')
    stat_times = []
    for _ in range(passes):
        t0 = time.perf_counter()
        for p in files:
            os.lstat(p)
        stat_times.append(ms_since(t0))
    result['stat_ms'] = statistics.median(stat_times)
    result['stat_files'] = len(files)

    find_times = []
    for _ in range(passes):
        t0 = time.perf_counter()
        found = subprocess.run(['find', '.', '-path', './output', '-prune', '-o', '-type', 'f', '-print'],
                               stdout=subprocess.PIPE, check=True).stdout.count(b'\n')
        find_times.append(ms_since(t0))
    result['find_ms'] = statistics.median(find_times)
    result['find_files'] = found

    write_dir = arg('--write-dir')
    write_n = int(arg('--write-n'))
    payload = b'x' * 1024
    os.makedirs(write_dir, exist_ok=True)
    t0 = time.perf_counter()
    for i in range(write_n):
        with open(os.path.join(write_dir, 'f%d.txt' % i), 'wb') as f:
            f.write(payload)
    result['write_ms'] = ms_since(t0)
    result['write_files'] = write_n
    # Untimed clean-up: in the sandbox this keeps 1 000 probe files out of the codebase merge.
    shutil.rmtree(write_dir)

    print(json.dumps(result))


main()
