#!/usr/bin/python3
"""Summarises a Bazel build-event JSON file (--build_event_json_file) for tools/test.

Usage: bep_summary.py BEP_JSON BAZEL_EXIT_CODE
Prints one line per test target ("PASS label" / "FAIL label (status)") and a
last line "COUNTS passed failed". Test targets that failed to build count as
failed; a build/analysis failure that produced no test target at all counts as
one failure ("<bazel build>"). Exit code 4 (no test targets) counts as 0/0.
"""
import json
import sys


def main():
    path, code = sys.argv[1], int(sys.argv[2])
    tests, built, summary = set(), {}, {}
    aborted = []
    try:
        with open(path) as f:
            for line in f:
                line = line.strip()
                if not line:
                    continue
                ev = json.loads(line)
                eid = ev.get("id", {})
                if "targetConfigured" in eid:
                    kind = ev.get("configured", {}).get("targetKind", "")
                    if kind.endswith("_test rule") or "testSize" in ev.get("configured", {}):
                        tests.add(eid["targetConfigured"]["label"])
                elif "targetCompleted" in eid:
                    lbl = eid["targetCompleted"]["label"]
                    ok = ev.get("completed", {}).get("success", False) and "aborted" not in ev
                    built[lbl] = built.get(lbl, True) and ok
                elif "testSummary" in eid:
                    lbl = eid["testSummary"]["label"]
                    summary[lbl] = ev.get("testSummary", {}).get("overallStatus", "NO_STATUS")
                if "aborted" in ev and "targetCompleted" in eid:
                    lbl = eid["targetCompleted"]["label"]
                    built[lbl] = False
                    aborted.append((lbl, ev["aborted"].get("reason", "")))
    except FileNotFoundError:
        pass
    passed = failed = 0
    for lbl in sorted(tests | set(summary)):
        st = summary.get(lbl)
        if st in ("PASSED", "FLAKY"):
            passed += 1
            print(f"PASS {lbl}" + (" (flaky)" if st == "FLAKY" else ""))
        else:
            failed += 1
            if st is None:
                st = "FAILED_TO_BUILD" if built.get(lbl) is False else "NO_STATUS"
            print(f"FAIL {lbl} ({st})")
    if code not in (0, 4) and failed == 0:
        failed += 1
        print(f"FAIL <bazel build> (bazel exit code {code}; see log)")
    print(f"COUNTS {passed} {failed}")


if __name__ == "__main__":
    main()
