#!/usr/bin/env python3
"""Runs the unittest cases of one file and, under `bazel test`, writes their
results as JUnit XML to $XML_OUTPUT_FILE, so that scripts/test.sh counts each
case (Bazel's own fallback XML would count the whole target as one).

  run_unittest.py path/to/some_test.py
"""

import importlib.util
import os
import sys
import time
import unittest
import xml.etree.ElementTree as ET


class _Result(unittest.TextTestResult):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.cases = []  # (name, classname, seconds, kind or None, text)
        self._started = 0.0

    def startTest(self, test):
        self._started = time.monotonic()
        super().startTest(test)

    def _record(self, test, kind=None, text=""):
        self.cases.append(
            (
                test._testMethodName,
                type(test).__name__,
                time.monotonic() - self._started,
                kind,
                text,
            )
        )

    def addSuccess(self, test):
        super().addSuccess(test)
        self._record(test)

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self._record(test, "failure", self._exc_info_to_string(err, test))

    def addError(self, test, err):
        super().addError(test, err)
        if isinstance(test, unittest.TestCase):
            self._record(test, "error", self._exc_info_to_string(err, test))
        else:  # a setUpClass failure: count it as one failed case
            self.cases.append(
                (str(test), "setup", 0.0, "error", self._exc_info_to_string(err, test))
            )

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        if isinstance(test, unittest.TestCase):
            self._record(test, "skipped", reason)


def _write_junit(path, suite_name, cases):
    suites = ET.Element("testsuites")
    suite = ET.SubElement(suites, "testsuite", name=suite_name)
    counts = {"failure": 0, "error": 0, "skipped": 0}
    for name, classname, seconds, kind, text in cases:
        case = ET.SubElement(
            suite, "testcase", name=name, classname=classname, time=f"{seconds:.3f}"
        )
        if kind:
            counts[kind] += 1
            ET.SubElement(case, kind, message=text.splitlines()[-1] if text else "").text = text
    for element in (suites, suite):
        element.set("tests", str(len(cases)))
        element.set("failures", str(counts["failure"]))
        element.set("errors", str(counts["error"]))
        element.set("disabled", str(counts["skipped"]))
    ET.ElementTree(suites).write(path, encoding="utf-8", xml_declaration=True)


def main():
    path = sys.argv[1]
    sys.path.insert(0, os.path.dirname(os.path.abspath(path)))
    spec = importlib.util.spec_from_file_location("module_under_test", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    suite = unittest.defaultTestLoader.loadTestsFromModule(module)
    runner = unittest.TextTestRunner(verbosity=2, resultclass=_Result)
    result = runner.run(suite)
    if os.environ.get("XML_OUTPUT_FILE"):
        _write_junit(os.environ["XML_OUTPUT_FILE"], os.path.basename(path), result.cases)
    ran_something = result.testsRun > len(result.skipped)
    return 0 if result.wasSuccessful() and ran_something else 1


if __name__ == "__main__":
    sys.exit(main())
