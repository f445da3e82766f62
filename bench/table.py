#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# Turn bench/run.sh's per-run files into the results table: medians, throughput, peak RSS,
# tlsdiag's ratios to the peers, the targets as met / not met, the totals check.
import argparse
import json
import os
import platform
import statistics
import subprocess
import time

TOOLS = ['pcapcount', 'tlsdiag', 'tlsdiag-t1', 'ndpiReader', 'tshark']
LABEL = {
    'pcapcount': 'libpcap read loop (pcapcount)',
    'tlsdiag': 'tlsdiag -q --json FILE (--threads 2)',
    'tlsdiag-t1': 'tlsdiag --threads 1 -q --json FILE',
    'ndpiReader': 'ndpiReader -i',
    'tshark': 'tshark -T fields -e tls.handshake.type',
}
# Issue 5's targets.
BULK_MBPS = 2000.0
BULK_READ_SHARE = 0.55
HS_PPS = 1.5e6
RSS_MIB = 200.0


def first_line(args):
    try:
        out = subprocess.run(args, capture_output=True, text=True, timeout=30)
        text = (out.stdout or out.stderr).strip().splitlines()
        return text[0] if text else '?'
    except OSError:
        return '?'


def machine():
    cpu = '?'
    with open('/proc/cpuinfo') as f:
        for line in f:
            if line.startswith('model name'):
                cpu = line.split(':', 1)[1].strip()
                break
    with open('/proc/meminfo') as f:
        mem_kib = int(f.readline().split()[1])
    distro = '?'
    with open('/etc/os-release') as f:
        for line in f:
            if line.startswith('PRETTY_NAME='):
                distro = line.split('=', 1)[1].strip().strip('"')
    debian = ''
    if os.path.exists('/etc/debian_version'):
        with open('/etc/debian_version') as f:
            debian = ' (' + f.read().strip() + ')'
    return '%d cores (%s), %.1f GiB RAM, %s%s, kernel %s' % (
        os.cpu_count(), cpu, mem_kib / 2**20, distro, debian, platform.release())


def versions(tlsdiag):
    ndpi = '?'
    out = subprocess.run(['ndpiReader', '-h'], capture_output=True, text=True)
    for line in (out.stdout + out.stderr).splitlines():
        if 'nDPI' in line and 'Welcome' in line:
            ndpi = line.replace('Welcome to', '').strip()
    return [
        ('tlsdiag', first_line([tlsdiag, '--version'])),
        ('ndpiReader', ndpi),
        ('tshark', first_line(['tshark', '--version']).rstrip('.')),
        ('libpcap (Debian package)', subprocess.run(
            ['dpkg-query', '-W', '-f=${Version}', 'libpcap0.8'],
            capture_output=True, text=True).stdout or '?'),
        ('gcc', first_line(['gcc', '--version'])),
    ]


def read_runs(path):
    walls, rss = [], []
    with open(path) as f:
        for line in f:
            w, r = line.split()
            walls.append(float(w))
            rss.append(int(r))
    return walls, rss


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--tmp', required=True)
    ap.add_argument('--data', required=True)
    ap.add_argument('--runs', type=int, required=True)
    ap.add_argument('--quick', type=int, default=0)
    ap.add_argument('--tlsdiag', required=True)
    ap.add_argument('captures', nargs='+')
    a = ap.parse_args()

    out = []
    w = out.append
    w('# tlsdiag benchmark (%s%s)' % (time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime()),
                                      ', --quick' if a.quick else ''))
    w('')
    w('Machine: ' + machine() + '.')
    w('Tools: ' + '; '.join('%s: %s' % v for v in versions(a.tlsdiag)) + '.')
    w('Method: bench/run.sh, one warm-up round then %d timed rounds, tools in alternation '
      'within each round; median wall time; peak RSS = largest "Maximum resident set size" '
      'of GNU time -v over the timed runs. MB/s = file bytes / 10^6 / median; packets/s = '
      'packets in the file (pcapcount) / median.' % a.runs)
    w('')
    checks = []
    targets = []
    for cap in a.captures:
        name = cap[:-5] if cap.endswith('.pcap') else cap
        path = os.path.join(a.data, cap)
        size = os.path.getsize(path)
        with open(os.path.join(a.tmp, name + '.packets')) as f:
            packets = int(f.read().split()[0])
        med, rssmax, spread = {}, {}, {}
        for t in TOOLS:
            walls, rss = read_runs(os.path.join(a.tmp, '%s--%s.runs' % (name, t)))
            med[t] = statistics.median(walls)
            spread[t] = (min(walls), max(walls))
            rssmax[t] = max(rss) / 1024.0
        ev = {'pcapcount': '%d packets' % packets}
        for t in ('ndpiReader', 'tshark'):
            with open(os.path.join(a.tmp, '%s--%s.evidence' % (name, t))) as f:
                ev[t] = f.read().strip()
        with open(os.path.join(a.tmp, name + '--tlsdiag.totals')) as f:
            timed = [line.strip() for line in f if line.strip()]
        with open(os.path.join(a.tmp, name + '--tlsdiag.plain')) as f:
            plain = f.read().strip()
        tot = json.loads(plain)
        ev['tlsdiag'] = '%d connections, %d TLS, findings %s' % (
            tot.get('connections', -1), tot.get('tls_connections', -1),
            '/'.join(str(tot.get('findings', {}).get(k, '?')) for k in ('error', 'warning', 'info')))
        ev['tlsdiag-t1'] = 'same totals' if all(t == plain for t in timed) else 'totals DIFFER'
        same = all(t == plain for t in timed)
        checks.append('%s: %d timed runs and the plain `tlsdiag --json` run: totals %s' % (
            cap, len(timed), 'equal' if same else 'DIFFER'))

        w('## %s: %s bytes, %s packets' % (cap, format(size, ','), format(packets, ',')))
        w('')
        w('| tool | median wall s (min-max) | MB/s | packets/s | peak RSS MiB | x read loop | output shows |')
        w('| --- | ---: | ---: | ---: | ---: | ---: | --- |')
        for t in TOOLS:
            w('| %s | %.3f (%.3f-%.3f) | %s | %s | %.1f | %.2f | %s |' % (
                LABEL[t], med[t], spread[t][0], spread[t][1],
                format(round(size / 1e6 / med[t]), ','), format(round(packets / med[t]), ','),
                rssmax[t], med[t] / med['pcapcount'], ev[t]))
        w('')
        w('tlsdiag time / libpcap read loop: %.2f (tlsdiag runs at %.1f %% of the read loop\'s speed); '
          'tlsdiag / ndpiReader: %.2f; tlsdiag / tshark: %.3f.' % (
              med['tlsdiag'] / med['pcapcount'], 100 * med['pcapcount'] / med['tlsdiag'],
              med['tlsdiag'] / med['ndpiReader'], med['tlsdiag'] / med['tshark']))
        w('')
        # The issue's targets are for one thread ("Targets, one thread, measured in the same run as the
        # peers"): judged on the --threads 1 row; memory on both rows; the speed-up between them.
        one = med['tlsdiag-t1']
        mbps = size / 1e6 / one
        pps = packets / one
        share = med['pcapcount'] / one
        vs_ndpi = med['ndpiReader'] / one
        vs_tshark = med['tshark'] / one
        if 'bulk' in name:
            targets.append(('%s: >= %d MB/s' % (cap, BULK_MBPS), '%.0f MB/s' % mbps, mbps >= BULK_MBPS))
            targets.append(('%s: >= %d %% of the read loop' % (cap, 100 * BULK_READ_SHARE),
                            '%.1f %%' % (100 * share), share >= BULK_READ_SHARE))
            targets.append(('%s: >= 2x ndpiReader' % cap, '%.2fx' % vs_ndpi, vs_ndpi >= 2))
            targets.append(('%s: >= 40x tshark' % cap, '%.1fx' % vs_tshark, vs_tshark >= 40))
        if 'handshake' in name:
            targets.append(('%s: >= 1.5 M packets/s' % cap, '%.3f M packets/s' % (pps / 1e6), pps >= HS_PPS))
            targets.append(('%s: >= 3x ndpiReader' % cap, '%.2fx' % vs_ndpi, vs_ndpi >= 3))
            targets.append(('%s: >= 30x tshark' % cap, '%.1fx' % vs_tshark, vs_tshark >= 30))
            speedup = med['tlsdiag-t1'] / med['tlsdiag']
            targets.append(('%s: --threads 2 >= 1.6x --threads 1' % cap, '%.2fx' % speedup, speedup >= 1.6))
        rss = max(rssmax['tlsdiag'], rssmax['tlsdiag-t1'])
        targets.append(('%s: peak RSS < %d MB (either thread count)' % (cap, RSS_MIB), '%.1f MiB' % rss,
                        rss < RSS_MIB))

    w('## Targets (issue 5; one thread unless said)')
    w('')
    w('| target | measured | |')
    w('| --- | ---: | --- |')
    for what, got, ok in targets:
        w('| %s | %s | %s |' % (what, got, 'met' if ok else '**not met**'))
    w('')
    for c in checks:
        w('totals check: ' + ('FAILED ' if 'DIFFER' in c else 'ok ') + c)
    print('\n'.join(out))


if __name__ == '__main__':
    main()
