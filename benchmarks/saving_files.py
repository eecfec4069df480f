"""What saving a program's files in the working folder costs a run (sandbox/saving.py, staging.py).

    python benchmarks/saving_files.py [--runs 20]

With one warm worker in a temporary working folder: a run that writes nothing, one that writes a small
JSON in the working folder (staged, then copied by the kernel), one that writes the same JSON into
./llmos-outputs (written directly, nothing to copy), and one that saves a 20 MiB .npy. Prints the median
round trip of each, and the kernel's collect() alone on an empty staging folder."""
import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from llmos_jupyter.sandbox import Sandbox
from llmos_jupyter.sandbox.saving import Manifest, collect

CASES = {
    "writes nothing": "x = 1",
    "small JSON, working folder": "import json\njson.dump({'00': 512, '11': 512}, open('counts.json', 'w'))",
    "small JSON, llmos-outputs": "import json\njson.dump({'00': 512, '11': 512}, open('llmos-outputs/c.json', 'w'))",
    "20 MiB .npy, working folder": "import numpy as np\nnp.save('big.npy', np.zeros(20 * 2**20 // 8))",
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=20)
    runs = parser.parse_args().runs
    with tempfile.TemporaryDirectory() as folder:
        os.chdir(folder)
        with Sandbox(outputs=Path(folder) / "llmos-outputs") as box:
            box.run("x = 0")  # warm
            print(f"{'case':32} {'median ms':>10} {'saved':>6}")
            for name, code in CASES.items():
                times, saved = [], 0
                for _ in range(runs):
                    started = time.perf_counter()
                    r = box.run(code)
                    times.append((time.perf_counter() - started) * 1000)
                    assert r.error is None, r.error
                    saved = len(r.saved)
                print(f"{name:32} {statistics.median(times):10.2f} {saved:6d}")
        workdir = Path(folder) / "workdir"
        workdir.mkdir()
        started = time.perf_counter()
        for _ in range(1000):
            collect(workdir, Path(folder), Manifest(), 1)
        print(f"{'collect(), nothing staged':32} {(time.perf_counter() - started):10.4f} (ms per call)")


if __name__ == "__main__":
    main()
