"""netspec summary: torchinfo on the meta device agrees with the static table; stable outputs."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys

import pytest
from conftest import BUNDLED, ROOT, ZOO, cli
from crosscheck import torchinfo_extra

import netspec as ns
from netspec.summary import static_summary, torch_summary

ROW_KEYS = {"path", "module", "layer", "depth", "output", "params", "macs", "mult_adds"}


@pytest.mark.parametrize("name", BUNDLED + ZOO)
def test_torchinfo_summary_agrees_with_static(name):
    spec = ns.load(name)
    batch = 3
    dynamic, static = torch_summary(spec, batch), static_summary(spec, batch)
    assert [(r.path, r.output, r.params, r.macs) for r in dynamic.rows] == [
        (r.path, r.output, r.params, r.macs) for r in static.rows
    ]
    assert dynamic.totals.params == static.totals.params == spec.num_params
    assert dynamic.totals.macs == static.totals.macs == spec.macs
    assert dynamic.totals.mult_adds == batch * (spec.macs + torchinfo_extra(spec.checked))
    assert dynamic.totals.activation_bytes == static.totals.activation_bytes


def test_rows_follow_the_spec_and_depth_limits_them():
    rows = torch_summary(ns.load("resnet"), depth=2).rows
    assert [r.path for r in rows][:6] == ["stem", "stem.0", "stem.1", "stem.2", "stem.3", "stage1"]
    assert {r.depth for r in rows} == {1, 2}
    assert next(r for r in rows if r.path == "stage2.0").module == "Residual"


def test_json_output_is_stable_and_documented(golden):
    run = cli("summary", "lenet", "--format", "json", "--batch", "4")
    assert run.code == 0, run.err
    data = json.loads(run.out)
    assert data["schema"] == "netspec-summary/1" and data["source"] == "torchinfo"
    assert set(data) == {"schema", "spec", "file", "source", "batch", "input", "layers", "totals"}
    assert set(data["layers"][0]) == ROW_KEYS
    assert data["totals"]["params"] == 61706 and data["totals"]["macs"] == 416520
    golden("summary/lenet.json", run.out)
    static = cli("summary", "lenet", "--format", "json", "--batch", "4", "--static")
    data_static = json.loads(static.out)
    assert data_static["source"] == "static" and "mult_adds" not in data_static["totals"]
    golden("summary/lenet_static.json", static.out)


def test_csv_output(golden):
    run = cli("summary", "googlenet", "--format", "csv", "--depth", "2")
    assert run.code == 0, run.err
    rows = list(csv.DictReader(io.StringIO(run.out)))
    assert rows[0].keys() == ROW_KEYS
    assert rows[-1]["path"] == "fc" and rows[-1]["output"] == "10"
    golden("summary/googlenet.csv", run.out)


def test_table_explains_the_two_mac_conventions(golden):
    run = cli("summary", "resnet", "--depth", "1")
    assert run.code == 0, run.err
    assert "torchinfo's count: it adds bias terms and batchnorm weights" in run.out
    golden("summary/resnet_table.txt", run.out)


def test_summary_to_file(tmp_path):
    out = tmp_path / "s.json"
    assert cli("summary", "nin", "--format", "json", "-o", str(out)).code == 0
    assert json.loads(out.read_text())["totals"]["params"] == 1992166


HUGE = """
name: huge
description: a generated network of {params:,} parameters
input: [4096]
params: {{width: 32768, depth: 11}}
layers:
  - repeat:
      name: blocks
      times: ${{depth}}
      body:
        - linear: {{name: fc, out: "${{width}}"}}
        - relu
  - linear: {{name: head, out: 1000}}
"""
# VmHWM, not ru_maxrss: Linux carries ru_maxrss across exec from the forking (pytest) process
PEAK = """
import re, sys
from netspec.cli import main
code = main(sys.argv[1:])
status = open("/proc/self/status").read()
print(code, int(re.search(r"VmHWM:\\s+(\\d+) kB", status).group(1)) * 1024)
"""


@pytest.mark.parametrize("static", [False, True])
def test_ten_billion_parameters_summarise_without_allocating(tmp_path, static):
    params = 4096 * 32768 + 32768 + 10 * (32768 * 32768 + 32768) + 32768 * 1000 + 1000
    path = tmp_path / "huge.yaml"
    path.write_text(HUGE.format(params=params))
    args = ["summary", str(path), "--format", "json", "-o", str(tmp_path / "s.json")]
    proc = subprocess.run(
        [sys.executable, "-c", PEAK, *args, *(["--static"] if static else [])],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    code, peak = map(int, proc.stdout.split())
    assert code == 0
    assert peak < 1_000_000_000  # bytes: the 43 GB of weights are never allocated
    data = json.loads((tmp_path / "s.json").read_text())
    assert data["totals"]["params"] == params > 10**10
