#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""wrap_test.py: being written."""
import sys
sys.exit(77)
