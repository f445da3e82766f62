#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# Print the "totals" object of a tlsdiag JSON report as one canonical JSON line.
# Only the head of the file is parsed: the report puts totals before the connections, and the
# handshake capture's report is ~800 MB, too big to load for one object.
import json
import sys

HEAD = 4 << 20  # inputs and totals come first; 4 MiB covers thousands of inputs

with open(sys.argv[1], encoding='utf-8', errors='replace') as f:
    text = f.read(HEAD)
key = text.find('"totals"')
if key < 0:
    sys.exit('totals.py: no "totals" in the first %d bytes of %s' % (HEAD, sys.argv[1]))
start = text.index('{', key)
totals, _ = json.JSONDecoder().raw_decode(text, start)
print(json.dumps(totals, sort_keys=True))
