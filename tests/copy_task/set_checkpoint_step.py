#!/usr/bin/env python3
"""Copies a copy_task checkpoint (safetensors) with its int64 "step" entry set to another value.

Usage: set_checkpoint_step.py SOURCE DEST STEP. Standard library only."""
import json
import struct
import sys

source, dest, step = sys.argv[1], sys.argv[2], int(sys.argv[3])
data = bytearray(open(source, "rb").read())
header_len = struct.unpack("<Q", data[:8])[0]
header = json.loads(data[8:8 + header_len])
begin, end = header["step"]["data_offsets"]
assert header["step"]["dtype"] == "I64" and end - begin == 8
struct.pack_into("<q", data, 8 + header_len + begin, step)
open(dest, "wb").write(data)
