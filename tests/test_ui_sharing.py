"""Safe sharing: ``studio ui`` beyond loopback needs --auth or --insecure; the pruning options reach the studio;
seed ranges stay lazy, are capped with one clear line and a huge one is announced before it starts."""
from __future__ import annotations

import pytest

import studio.ui.app as app_module
from conftest import run_cli
from ganlib import limits
from studio.seeds import LARGE_RUN, large_run_notice, parse_seeds


@pytest.fixture()
def launched(monkeypatch):
    seen: dict = {}
    monkeypatch.setattr(app_module, "build_app", lambda models, out, device, prune: seen.update(prune=prune) or "app")
    monkeypatch.setattr(app_module, "launch", lambda app, host, port, auth, quiet: seen.update(host=host, auth=auth))
    return seen


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.20", "::"])
def test_host_beyond_loopback_without_auth_is_refused(launched, host):
    code, out, err = run_cli("ui", "--host", host)
    assert code == 2 and not launched
    assert err.count("\n") == 1 and "--auth" in err and "--insecure" in err and "Traceback" not in err


def test_insecure_warns_and_auth_or_loopback_start(launched, tmp_path):
    code, _, err = run_cli("ui", "--host", "0.0.0.0", "--insecure", "--output-dir", str(tmp_path))
    assert code == 0 and "warning" in err and "--insecure" in err and launched["host"] == "0.0.0.0"
    code, _, err = run_cli("ui", "--host", "0.0.0.0", "--auth", "me:pw", "--output-dir", str(tmp_path))
    assert code == 0 and "warning" not in err and launched["auth"] == ("me", "pw")
    code, _, err = run_cli("ui", "--host", "127.0.0.2", "--output-dir", str(tmp_path))
    assert code == 0 and "warning" not in err


def test_prune_options_reach_the_studio(launched, tmp_path):
    code, _, err = run_cli("ui", "--keep-hours", "0.5", "--keep-gb", "2", "--output-dir", str(tmp_path))
    assert code == 0, err
    assert (launched["prune"].keep_hours, launched["prune"].keep_gb) == (0.5, 2.0)
    code, _, err = run_cli("ui", "--keep-gb", "-1")
    assert code == 2 and "--keep-gb" in err


def test_seed_ranges_are_lazy_capped_and_announced(tiny_models, tmp_path):
    seeds = parse_seeds("0-999999999")  # a billion seeds: two numbers in memory
    assert len(seeds) == 1_000_000_000 and seeds[-1] == 999_999_999 and seeds[10:12] == [10, 11]
    assert large_run_notice(parse_seeds(f"0-{LARGE_RUN - 2}")) is None
    assert large_run_notice(seeds).startswith("1,000,000,000 images (seeds 0-999999999)")
    cap = limits.get("seed_range")
    code, _, err = run_cli("random", "--model", "builtin:tiny", "--seeds", f"0-{cap}", "--out", str(tmp_path / "o"))
    assert code == 2 and err.count("\n") == 1 and "--seeds" in err and f"{cap:,}" in err.replace("_", ",")
    # a huge (allowed) range is announced before the model even loads; here the model is missing
    code, _, err = run_cli("random", "--model", "builtin:missing", "--seeds", "0-999999", "--out", str(tmp_path))
    assert code == 2 and err.index("1,000,000 images") < err.index("error:")
