#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# Helpers of bench/live_replay.sh.
#
#   live_report.py maxframe PCAP          largest original frame length in a classic pcap
#   live_report.py events EVENTS.ndjson   one TSV line from tlsdiag's event stream: the last
#       tlsdiag.stats event's packets, bytes, packets_dropped.kernel, packets_dropped.interface,
#       flows.evicted, connections, memory.rss_bytes; the number of tlsdiag.connection lines; the
#       number of stats events; and the largest kernel-drop increase between two stats events
#   live_report.py tcpreplay OUTPUT       one TSV line from tcpreplay's summary: packets sent,
#       bytes, seconds, Mbps, pps, failed packets
#   live_report.py table RUNS.tsv         the markdown table (see live_replay.sh for the columns)
import json
import re
import struct
import sys


def maxframe(path):
    with open(path, 'rb') as f:
        hdr = f.read(24)
        endian = '<' if hdr[:4] in (b'\xd4\xc3\xb2\xa1', b'\x4d\x3c\xb2\xa1') else '>'
        longest = 0
        while True:
            rh = f.read(16)
            if len(rh) < 16:
                break
            _s, _u, incl, orig = struct.unpack(endian + 'IIII', rh)
            longest = max(longest, orig)
            f.seek(incl, 1)
    print(longest)


def events(path):
    last = None
    conns = 0
    nstats = 0
    prev_drop = 0
    max_step = 0
    with open(path, encoding='utf-8', errors='replace') as f:
        for line in f:
            try:
                ev = json.loads(line)
            except ValueError:
                continue
            ds = ev.get('event', {}).get('dataset')
            if ds == 'tlsdiag.connection':
                conns += 1
            elif ds == 'tlsdiag.stats':
                nstats += 1
                last = ev['tlsdiag']['stats']
                drop = last.get('packets_dropped', {}).get('kernel', 0)
                max_step = max(max_step, drop - prev_drop)
                prev_drop = drop
    if last is None:
        sys.exit('live_report.py: no tlsdiag.stats event in %s' % path)
    dropped = last.get('packets_dropped', {})
    print('\t'.join(str(v) for v in (
        last.get('packets', 0), last.get('bytes', 0), dropped.get('kernel', 'n/a'), dropped.get('interface', 'n/a'),
        last.get('flows', {}).get('evicted', 0), last.get('connections', 0),
        last.get('memory', {}).get('rss_bytes', 0), conns, nstats, max_step)))


def tcpreplay(path):
    text = open(path, encoding='utf-8', errors='replace').read()
    m = re.search(r'Actual:\s+(\d+) packets \((\d+) bytes\) sent in ([\d.]+) seconds', text)
    r = re.search(r'Rated:\s+[\d.]+ Bps,\s+([\d.]+) Mbps,\s+([\d.]+) pps', text)
    fail = re.search(r'Failed packets:\s+(\d+)', text)
    if not m or not r:
        sys.exit('live_report.py: no tcpreplay summary in %s' % path)
    print('\t'.join((m.group(1), m.group(2), m.group(3), r.group(1), r.group(2), fail.group(1) if fail else '0')))


def num(v):
    try:
        return '{:,}'.format(int(v))
    except ValueError:
        return v


def table(path):
    print('| rate asked | --threads | --buffer-size MB | sent (tcpreplay) | achieved Mbit/s | achieved packets/s '
          '| seen by tlsdiag | kernel drops | interface drops | connections | tlsdiag CPU % during replay '
          '| peak RSS MiB |')
    print('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |')
    with open(path) as f:
        for line in f:
            p = line.rstrip('\n').split('\t')
            if len(p) < 12:
                continue
            rate, buf, sent, mbps, pps, seen, kdrop, idrop, conns, cpu, rss_kib, failed = p[:12]
            nthreads = p[12] if len(p) > 12 else '1'
            sent_s = num(sent) + (' (%s failed)' % num(failed) if failed not in ('0', '') else '')
            print('| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %.1f |' % (
                rate, nthreads, buf, sent_s, num(float(mbps)), num(float(pps)), num(seen), num(kdrop), num(idrop),
                num(conns), cpu, int(rss_kib) / 1024))


def main(argv):
    cmds = {'maxframe': maxframe, 'events': events, 'tcpreplay': tcpreplay, 'table': table}
    if len(argv) != 2 or argv[0] not in cmds:
        sys.exit('usage: live_report.py maxframe PCAP | events FILE | tcpreplay OUTPUT | table RUNS.tsv')
    cmds[argv[0]](argv[1])


if __name__ == '__main__':
    main(sys.argv[1:])
