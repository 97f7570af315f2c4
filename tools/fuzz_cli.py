#!/usr/bin/env python3
"""Command-line fuzzer for entk: runs entk's commands with hostile integer and path option values,
as a user (or a script gone wrong) might pass them, and reports every run that

  - dies of a signal, or exits 5 (internal error) or with a code outside 0-4,
  - prints Foundation's raw error dump (NSCocoaErrorDomain) or a Swift "Fatal error",
  - runs longer than --timeout seconds, or
  - leaves a temporary file or hidden folder (*.tmp-PID, .NAME.partial-*, .NAME.kernels-*) behind.

The inputs are the example-c backend and the kernel-mlp fixture (24 samples), so each run takes a
second or so. Exit status 1 when any run was a finding; each is printed with its command line.

Usage: tools/fuzz_cli.py --entk .build/debug/entk [--runs 300] [--seed 14] [--timeout 60]
"""
import argparse
import os
import pathlib
import random
import shutil
import subprocess
import sys
import tempfile

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
MODEL = ROOT / "Tests/Fixtures/kernel-mlp"

INTEGERS = ["0", "-1", "1", "2", "7", "24", "25", "65", "2147483647", "2147483648", "4294967296",
            "9223372036854775807", "-9223372036854775808", "9223372036854775808", "18446744073709551616",
            "1e3", "0x10", "", " 3", "3 ", "+4", "١"]
MEMORY = ["0", "1", "1K", "64K", "2G", "1T", "100T", "9e18", "-1", "1.5", "nan", "inf", "G", ""]


def hostile_paths(scratch):
    """Paths an --out or input option might get, relative to a scratch folder."""
    a_file = scratch / "a-file"
    a_file.write_text("x")
    return {
        "existing file": str(a_file),
        "under a file": str(a_file / "sub"),
        "300-byte name": str(scratch / ("n" * 300)),
        "long path": str(scratch / "/".join(["d" * 200] * 25)),
        "empty": "",
        "root": "/",
        "proc": "/proc/self/nope",
        "newline": str(scratch / "new\nline"),
        "dev null": "/dev/null",
        "dot": ".",
        "fresh": str(scratch / "fresh-out"),
    }


def setup(entk, scratch, env):
    """Kernels, labels, logits and a bundle for the commands that read them."""
    train, test = MODEL / "train.npy", MODEL / "test.npy"
    for name, extra in [("train-kernel", []), ("test-kernel", ["--test", str(test)])]:
        subprocess.run([entk, "kernel", "--backend", "example-c", "--model", str(MODEL), "--train", str(train),
                        "--kind", "trntk", "--normalize", "cosine", "--out", str(scratch / name), *extra],
                       check=True, env=env, capture_output=True)
    n, m = np.load(train).shape[0], np.load(test).shape[0]
    np.save(scratch / "train_labels.npy", np.arange(n) % 3)
    np.save(scratch / "test_labels.npy", np.arange(m) % 3)
    np.save(scratch / "test_logits.npy", np.random.default_rng(1).normal(size=(m, 3)).astype(np.float32))
    subprocess.run([entk, *attribute_arguments(scratch, scratch / "bundle")], check=True, env=env,
                   capture_output=True)


def attribute_arguments(scratch, out):
    return ["attribute", "--train-kernel", str(scratch / "train-kernel"), "--test-kernel", str(scratch / "test-kernel"),
            "--train-labels", str(scratch / "train_labels.npy"), "--test-labels", str(scratch / "test_labels.npy"),
            "--test-logits", str(scratch / "test_logits.npy"), "--out", str(out)]


def kernel_arguments(command, out):
    return [command, "--backend", "example-c", "--model", str(MODEL), "--train", str(MODEL / "train.npy"),
            "--kind", "trntk", "--threads", "1", "--out", str(out)]


def random_case(rng, scratch, work, paths):
    """One command line: a valid base with one or two options replaced by hostile values; inputs in
    `scratch`, a fresh output in `work`."""
    out = work / f"out-{rng.randrange(1 << 30)}"
    command = rng.choice(["kernel", "plan", "attribute", "attribute-kind", "explain", "report", "merge"])
    if command in ("kernel", "plan"):
        arguments = kernel_arguments(command, out)
        options = {"--batch-size": INTEGERS, "--threads": INTEGERS, "--tile-size": INTEGERS, "--proj-dim": INTEGERS,
                   "--seed": INTEGERS, "--memory": MEMORY, "--out": list(paths.values()),
                   "--train": list(paths.values()), "--tile": ["0,0", "-1,0", "9223372036854775807,0", "1", ""]}
    elif command == "attribute":
        arguments = attribute_arguments(scratch, out)
        options = {"--top-k": INTEGERS, "--max-iterations": ["1", "2", "0", "-1", "2147483648"],
                   "--out": list(paths.values()), "--train-kernel": list(paths.values()),
                   "--test-logits": list(paths.values()), "--train-text": list(paths.values())}
    elif command == "attribute-kind":
        arguments = ["attribute", "--kind", "trntk", "--backend", "example-c", "--model", str(MODEL),
                     "--train", str(MODEL / "train.npy"), "--test", str(MODEL / "test.npy"),
                     "--train-labels", str(scratch / "train_labels.npy"), "--threads", "1", "--out", str(out)]
        options = {"--batch-size": INTEGERS, "--threads": INTEGERS, "--top-k": INTEGERS, "--memory": MEMORY,
                   "--out": list(paths.values())}
    elif command == "explain":
        arguments = ["explain", str(scratch / "bundle"), "--test-index", "0"]
        options = {"--test-index": INTEGERS, "--class": INTEGERS}
    elif command == "report":
        return ["report", rng.choice(list(paths.values()) + [str(scratch / "bundle")])]
    else:
        return ["merge", rng.choice(list(paths.values()) + [str(scratch / "train-kernel")])]
    for option in rng.sample(sorted(options), k=min(len(options), rng.choice([1, 1, 2]))):
        value = rng.choice(options[option])
        if option in arguments:
            arguments[arguments.index(option) + 1] = value
        else:
            arguments += [option, value]
    return arguments


def leftovers(scratch):
    found = []
    for path in scratch.rglob("*"):
        name = path.name
        if ".tmp-" in name or (name.startswith(".") and (".partial-" in name or ".kernels-" in name)):
            found.append(str(path))
    return found


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entk", required=True)
    parser.add_argument("--runs", type=int, default=300)
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--timeout", type=float, default=60)
    args = parser.parse_args()
    entk = os.path.abspath(args.entk)
    env = dict(os.environ, SWIFT_BACKTRACE="enable=no")
    env.setdefault("ENTK_BACKEND_PATH", str(pathlib.Path(entk).parent))
    rng = random.Random(args.seed)
    findings = []
    exits = {}
    with tempfile.TemporaryDirectory(prefix="entk-fuzz-cli-") as scratch:
        scratch = pathlib.Path(scratch)
        setup(entk, scratch, env)
        work = scratch / "work"
        for run in range(args.runs):
            shutil.rmtree(work, ignore_errors=True)
            work.mkdir()
            paths = hostile_paths(work)
            arguments = random_case(rng, scratch, work, paths)
            try:
                result = subprocess.run([entk, *arguments], env=env, capture_output=True, text=True,
                                        errors="replace", timeout=args.timeout, cwd=work)
                code, stderr = result.returncode, result.stderr
            except subprocess.TimeoutExpired:
                code, stderr = "timeout", ""
            exits[code] = exits.get(code, 0) + 1
            problems = []
            if code == "timeout":
                problems.append(f"ran longer than {args.timeout:.0f} s")
            elif code < 0:
                problems.append(f"killed by signal {-code}")
            elif code not in (0, 1, 2, 3, 4):
                problems.append(f"exit {code}")
            for marker in ("NSCocoaErrorDomain", "Fatal error", "Swift runtime failure"):
                if marker in stderr:
                    problems.append(f"stderr contains {marker!r}")
            problems += [f"left {path}" for path in leftovers(work)]
            if problems:
                findings.append((arguments, problems, stderr.strip().splitlines()[-1:] if stderr.strip() else []))
    print(f"fuzz_cli: {args.runs} runs, exit codes {dict(sorted(exits.items(), key=str))}, {len(findings)} findings")
    for arguments, problems, last in findings:
        print("  entk " + " ".join(repr(a) if not a or " " in a or "\n" in a else a for a in arguments))
        print("    " + "; ".join(problems) + (f" | {last[0][:200]}" if last else ""))
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
