#!/usr/bin/env python3
"""Writes a synthetic N-node inventory (TOML) to stdout, for benchmarks.

usage: gen-inventory.py N [SCHEME]
Every 5th node is behind NAT, every 7th censored; keys are fixed dummies.
"""
import base64
import sys

n = int(sys.argv[1])
scheme = sys.argv[2] if len(sys.argv) > 2 else "xor"
print(f'[mesh]\nport_scheme = "{scheme}"\nbase_port = 30000\n')
for i in range(n):
    key = base64.b64encode(i.to_bytes(4, "little") + bytes(27) + b"\x55").decode()
    print(f'[nodes.node{i}]\nid = {i}\npublic_key = "{key}"')
    print(f'endpoints = ["198.18.{i // 250}.{i % 250 + 1}"]')
    print(f'nat = {str(i % 5 == 3).lower()}\ncensored = {str(i % 7 == 6).lower()}\nregion = "r{i % 3}"\n')
