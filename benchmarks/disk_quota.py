"""What the disk quota costs: each open for writing in the worker walks its workdir and the outputs folder
(sandbox/quota.py) to know what is left. Times one such open in a real worker with the audit hook (and so the
quota) on, and with the hook off as the baseline, for outputs folders holding a few numbers of files.

    python benchmarks/disk_quota.py [--files 0 100 1000 10000]
"""
import argparse
import tempfile
from pathlib import Path

from llmos_jupyter.sandbox import Sandbox

OPENS = 200
TIMED = f"""
import time
started = time.perf_counter()
for n in range({OPENS}):
    with open(OUT + "/probe.txt", "w") as f:
        f.write("x")
(time.perf_counter() - started) / {OPENS} * 1e6
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, nargs="+", default=[0, 100, 1000, 10000])
    args = parser.parse_args()
    print(f"{'files in outputs':>17} | {'open for writing, quota on (us)':>31} | {'audit hook off (us)':>19}")
    for count in args.files:
        with tempfile.TemporaryDirectory() as root:
            out = Path(root) / "llmos-outputs"
            out.mkdir()
            for n in range(count):
                (out / f"f{n}.txt").write_text("x")
            row = []
            for hook in (True, False):
                with Sandbox(outputs=out, audit_hook=hook) as box:
                    r = box.run(f"OUT = {str(out)!r}\n" + TIMED)
                    row.append(r.value if r.error is None else float("nan"))
            print(f"{count:>17} | {row[0]:>31.1f} | {row[1]:>19.1f}")


if __name__ == "__main__":
    main()
