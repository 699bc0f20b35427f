#!/usr/bin/env python3
"""Tensor-level checks of safetensors files (standard library only), for scripts/kill-test.sh.

  safetensors-tool.py digest FILE     prints "epoch=E batch=B sha256=<hash of all tensors>"
  safetensors-tool.py compare A B     exit 0 if A and B hold bit-identical tensors (names, dtypes,
                                      shapes, bytes); metadata such as timings is ignored

A file that does not parse as safetensors exits 2 with the reason.
"""
import hashlib, json, struct, sys


def read(path):
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 8:
        raise ValueError(f"{path}: {len(data)} bytes, too short")
    (n,) = struct.unpack("<Q", data[:8])
    if n > len(data) - 8:
        raise ValueError(f"{path}: header length {n} past the end of the {len(data)}-byte file")
    header = json.loads(data[8:8 + n])
    body = data[8 + n:]
    meta = header.pop("__metadata__", {})
    tensors, covered = {}, 0
    for name, entry in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"]):
        begin, end = entry["data_offsets"]
        if begin != covered or end > len(body):
            raise ValueError(f"{path}: tensor {name} at [{begin}, {end}] does not follow byte {covered} or runs past the end")
        tensors[name] = (entry["dtype"], tuple(entry["shape"]), body[begin:end])
        covered = end
    if covered != len(body):
        raise ValueError(f"{path}: {len(body) - covered} unused bytes at the end")
    return tensors, meta


def digest(tensors):
    h = hashlib.sha256()
    for name in sorted(tensors):
        dtype, shape, raw = tensors[name]
        h.update(f"{name}|{dtype}|{shape}|{len(raw)}|".encode())
        h.update(raw)
    return h.hexdigest()


def main():
    try:
        if len(sys.argv) == 3 and sys.argv[1] == "digest":
            tensors, meta = read(sys.argv[2])
            state = json.loads(meta.get("state", "{}"))
            print(f"epoch={state.get('epoch')} batch={state.get('batchInEpoch')} sha256={digest(tensors)}")
        elif len(sys.argv) == 4 and sys.argv[1] == "compare":
            a, _ = read(sys.argv[2])
            b, _ = read(sys.argv[3])
            if a.keys() != b.keys():
                print(f"different tensor names: {sorted(a.keys() ^ b.keys())[:5]}")
                sys.exit(1)
            different = [n for n in sorted(a) if a[n] != b[n]]
            if different:
                print(f"{len(different)} of {len(a)} tensors differ, e.g. {different[:3]}")
                sys.exit(1)
            print(f"{len(a)} tensors, {sum(len(t[2]) for t in a.values())} bytes: bit-identical")
        else:
            print(__doc__)
            sys.exit(2)
    except (ValueError, KeyError, TypeError, json.JSONDecodeError, OSError) as error:
        print(f"not a valid safetensors file: {error}")
        sys.exit(2)


main()
