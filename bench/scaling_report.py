#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# Helpers of bench/scaling.sh: pull the numbers out of a tlsdiag JSON report, and turn the runs
# into the markdown table docs/PERFORMANCE.md quotes.
#
#   scaling_report.py facts REPORT.json   one TSV line: frames bytes connections tls_connections
#                                         flows_evicted flows_active_max (only the report's tail is
#                                         parsed: inputs and totals follow the connections)
#   scaling_report.py table RUNS.tsv      the markdown table; RUNS.tsv lines are
#       kind capture file_bytes options status wall_s rss_kib frames bytes conns tls evicted active_max cpu_s
#       (one line per timed run; kind "base" is the empty-capture run whose RSS is subtracted)
import json
import statistics
import sys

TAIL = 16 << 20


def facts(path):
    with open(path, 'rb') as f:
        size = f.seek(0, 2)
        f.seek(max(0, size - TAIL))
        text = f.read().decode('utf-8', errors='replace')
    dec = json.JSONDecoder()
    # The top-level members follow the connections and are indented by two spaces.
    start = text.index('[', text.rindex('\n  "inputs": '))
    inputs, _ = dec.raw_decode(text, start)
    start = text.index('{', text.rindex('\n  "totals": '))
    totals, _ = dec.raw_decode(text, start)
    frames = sum(i.get('frames', 0) for i in inputs)
    nbytes = sum(i.get('bytes', 0) for i in inputs)
    print('\t'.join(str(v) for v in (frames, nbytes, totals['connections'], totals['tls_connections'],
                                     totals['flows_evicted'], totals['flows_active_max'])))


def num(n, digits=0):
    return '{:,.{d}f}'.format(n, d=digits)


def threads_of(opts):
    """The --threads value of a row's options ('' for the default)."""
    words = opts.split()
    for i, w in enumerate(words[:-1]):
        if w == '--threads':
            return words[i + 1]
    return ''


def table(path):
    rows = {}
    order = []
    base_rss = {}  # by its --threads option: the empty run that matches a row's start-up cost
    with open(path) as f:
        for line in f:
            p = line.rstrip('\n').split('\t')
            if len(p) < 14:
                continue
            kind, capture, fbytes, opts, status = p[:5]
            if kind == 'base':
                k = threads_of(opts)
                base_rss[k] = min(base_rss.get(k, int(p[6])), int(p[6]))
                continue
            key = (kind, capture, opts)
            if key not in rows:
                rows[key] = []
                order.append(key)
            rows[key].append(p)
    out = []
    out.append('| capture | options | size MB | packets | connections | flows open at once (max) | evicted '
               '| wall s | CPU s | packets/s (CPU) | CPU us/packet | peak RSS MiB | KiB/connection above empty |')
    out.append('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |')
    for key in order:
        runs = rows[key]
        kind, capture, opts = key
        fbytes = int(runs[0][2])
        bad = [r for r in runs if r[4] != 'ok']
        if bad:
            out.append('| %s | %s | %s | | | | | %s | | | | %s | |' % (
                capture, opts or 'default', num(fbytes / 1e6), bad[0][4],
                num(max(int(r[6]) for r in bad) / 1024, 1)))
            continue
        wall = statistics.median(float(r[5]) for r in runs)
        cpu = statistics.median(float(r[13]) for r in runs)
        rss = max(int(r[6]) for r in runs)
        frames, conns, evicted, active = int(runs[0][7]), int(runs[0][9]), int(runs[0][11]), int(runs[0][12])
        base = base_rss.get(threads_of(opts), base_rss.get('', 0))
        per_conn = (rss - base) / conns if conns else 0
        out.append('| %s | %s | %s | %s | %s | %s | %s | %.2f | %.2f | %s | %.2f | %s | %s |' % (
            capture, opts or 'default', num(fbytes / 1e6), num(frames), num(conns), num(active), num(evicted),
            wall, cpu, num(frames / cpu if cpu > 0 else 0), cpu * 1e6 / frames if frames else 0,
            num(rss / 1024, 1), num(per_conn, 1)))
    out.append('')
    out.append('Peak RSS of a run on an empty capture with the same --threads (subtracted in the last column): %s. '
               'Wall and CPU s are medians over the runs, RSS the largest.' % ', '.join(
                   '%s MiB (%s)' % (num(v / 1024, 1), ('--threads ' + k) if k else 'default threads')
                   for k, v in sorted(base_rss.items())))
    print('\n'.join(out))


def main(argv):
    if len(argv) == 2 and argv[0] == 'facts':
        facts(argv[1])
    elif len(argv) == 2 and argv[0] == 'table':
        table(argv[1])
    else:
        sys.exit('usage: scaling_report.py facts REPORT.json | table RUNS.tsv')


if __name__ == '__main__':
    main(sys.argv[1:])
