#!/usr/bin/python3
# SPDX-License-Identifier: MIT
# Print the "totals" object of a tlsdiag JSON report as one canonical JSON line.
# Only the tail of the file is parsed: the report writes its connections first, as the capture is read, and
# inputs, totals, limits and servers after them; the handshake capture's report is ~400 MB, too big to load
# for one object.
import json
import os
import sys

TAIL = 16 << 20  # inputs, totals, limits and servers: 16 MiB covers thousands of inputs and servers

with open(sys.argv[1], 'rb') as f:
    size = f.seek(0, os.SEEK_END)
    f.seek(max(0, size - TAIL))
    text = f.read().decode('utf-8', errors='replace')
# The top-level members are indented by two spaces; a connection is one line indented by four.
key = text.rfind('\n  "totals": ')
if key < 0:
    sys.exit('totals.py: no "totals" in the last %d bytes of %s' % (TAIL, sys.argv[1]))
start = text.index('{', key)
totals, _ = json.JSONDecoder().raw_decode(text, start)
print(json.dumps(totals, sort_keys=True))
