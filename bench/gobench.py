"""Running the Go bench binary from the ratio scripts (encode_ratios.py,
decode_ratios.py): build it once, run one benchmark pattern, read its
lines back as {variant: {unit: value}}."""
import os
import re
import subprocess
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def build():
    """Builds this tree's bench test binary into a temporary directory."""
    binary = os.path.join(tempfile.mkdtemp(), "bench.test")
    subprocess.run(["go", "test", "-c", "-o", binary, "."], cwd=HERE, check=True)
    return binary


def run(binary, pattern, benchtime="0.3s"):
    """Runs the benchmarks matching pattern; the figures of each by the
    last part of its name (the variant, e.g. segpickle-any)."""
    out = subprocess.run([binary, "-test.run", "^$", "-test.bench", pattern, "-test.benchmem",
                          "-test.benchtime", benchtime], cwd=HERE, check=True, capture_output=True, text=True).stdout
    res = {}
    for line in out.splitlines():
        m = re.match(r"Benchmark\S*/([\w-]+?)-\d+\s+\d+\s+(.*)", line)
        if m:
            res[m.group(1)] = dict((unit, float(v)) for v, unit in re.findall(r"([\d.]+) ([\w/-]+)", m.group(2)))
    return res
