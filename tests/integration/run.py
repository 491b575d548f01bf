#!/usr/bin/python3
"""Runs the integration tests and prints one line per test case, then
"COUNTS <passed> <failed>" (errors count as failed; skips are listed, not counted).

    /usr/bin/python3 tests/integration/run.py [--only test_x.py] [--exclude test_y.py] [-k substring]
"""
import argparse
import os
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))


class Result(unittest.TextTestResult):
    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.passed = []
        self._t0 = {}
        self._reported = set()

    def startTest(self, test):
        self._t0[test.id()] = time.monotonic()
        super().startTest(test)

    def _secs(self, test):
        return time.monotonic() - self._t0.get(test.id(), time.monotonic())

    def addSuccess(self, test):
        super().addSuccess(test)
        self.passed.append(test)
        print(f"PASS {test.id()} ({self._secs(test):.1f}s)", flush=True)

    def _report_bad(self, word, test):
        if test.id() not in self._reported:  # test and its cleanup may both fail
            self._reported.add(test.id())
            print(f"{word} {test.id()} ({self._secs(test):.1f}s)", flush=True)

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._report_bad("FAIL", test)

    def addError(self, test, err):
        super().addError(test, err)
        self._report_bad("ERROR", test)

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        print(f"SKIP {test.id()}: {reason}", flush=True)

    def addUnexpectedSuccess(self, test):
        super().addUnexpectedSuccess(test)
        print(f"FAIL {test.id()} (unexpected success)", flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--only", action="append", default=[])
    ap.add_argument("--exclude", action="append", default=[])
    ap.add_argument("-k", dest="substr", default=None)
    args = ap.parse_args()
    sys.path.insert(0, HERE)
    import harness  # noqa: E402

    try:
        print(f"ringmaild: {harness.binary()}", flush=True)
    except FileNotFoundError as e:
        print(f"NOTE: {e}; every test will fail", flush=True)

    loader = unittest.TestLoader()
    suite = unittest.TestSuite()
    files = sorted(f for f in os.listdir(HERE) if f.startswith("test_") and f.endswith(".py"))
    for f in files:
        if args.only and f not in args.only:
            continue
        if f in args.exclude:
            continue
        mod = loader.loadTestsFromName(f[:-3])
        suite.addTests(mod)

    def flatten(s):
        for t in s:
            if isinstance(t, unittest.TestSuite):
                yield from flatten(t)
            else:
                yield t

    tests = list(flatten(suite))
    if args.substr:
        tests = [t for t in tests if args.substr in t.id()]
    runner = unittest.TextTestRunner(stream=sys.stdout, verbosity=0, resultclass=Result)
    result = runner.run(unittest.TestSuite(tests))
    # A test that fails and whose cleanup (daemon stop) also fails counts once.
    bad = {t.id() for t, _ in result.failures + result.errors}
    bad |= {t.id() for t in result.unexpectedSuccesses}
    failed = len(bad)
    print(f"COUNTS {len(result.passed)} {failed}", flush=True)
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
