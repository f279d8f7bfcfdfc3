# Reads Tempest's last run (`stestr last --subunit`) on stdin and prints one
# JSON object per test: id, status (success, fail, skip, xfail, uxsuccess),
# seconds, and for a failure or a skip its first error line or reason.
# Run on the Tempest host by `stackprov verify --tempest`; no secrets pass here.
import json
import sys

import subunit
import testtools


def first_error(text):
    lines = [l for l in text.splitlines() if l.strip()]
    for i in range(len(lines) - 1, -1, -1):
        line = lines[i]
        if line[0].isspace() or line.startswith(("Traceback", "During handling", "The above")):
            continue
        if line.startswith("Details:") and i > 0:
            continue
        out = line
        if i + 1 < len(lines) and lines[i + 1].startswith("Details:"):
            out += " " + lines[i + 1]
        return out[:400]
    return (lines[-1] if lines else "")[:400]


def emit(test):
    status = test["status"]
    if status not in ("success", "fail", "skip", "xfail", "uxsuccess"):
        return
    start, stop = (test["timestamps"] + [None, None])[:2]
    seconds = (stop - start).total_seconds() if start and stop else 0.0
    detail = ""
    details = test["details"]
    if status in ("fail", "uxsuccess"):
        for name in ("traceback", "reason"):
            if name in details:
                detail = first_error(details[name].as_text())
                break
    elif status == "skip" and "reason" in details:
        detail = details["reason"].as_text().strip().splitlines()[0][:400] if details["reason"].as_text().strip() else ""
    print(json.dumps({"id": test["id"], "status": status, "seconds": round(seconds, 3), "detail": detail}))


result = testtools.StreamToDict(emit)
result.startTestRun()
subunit.ByteStreamToStreamResult(sys.stdin.buffer, non_subunit_name="stdout").run(result)
result.stopTestRun()
