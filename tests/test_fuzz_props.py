"""Property-based fuzzing (hypothesis) of the pure front doors: YAML text, timelines, seed lists, layer specs, model
settings, pickles and the UI's error wrapper. For every generated input the answer is a value or ONE UserError line,
never another exception, and Python-level allocations stay small (tracemalloc peak, which numpy also reports).
"""
from __future__ import annotations

import pickle
import tracemalloc

import gradio as gr
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ganlib.checkpoints.nvlabs import allowed_globals
from ganlib.checkpoints.safe_unpickle import safe_load
from ganlib.errors import CheckpointError, UserError
from ganlib.networks.config_check import check_kwargs
from ganlib.networks.registry import generator_class, registered_architectures
from ganlib.schema import load_yaml
from studio.layer_specs import parse_layers
from studio.seeds import parse_seeds
from studio.timeline import parse_timeline
from studio.timeline_model import KEYFRAME_FIELDS, TIMELINE_FIELDS
from studio.ui.context import user_errors

QUIET = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


def prop(fn):
    """A fuzz property: ``fuzz_fast`` + ``fuzz_full``: derandomized in the default run (25 examples: the ``ci``
    profile of tests/conftest.py), a random search with many more examples under ``-m fuzz_full``."""
    return pytest.mark.fuzz_fast(pytest.mark.fuzz_full(QUIET(fn)))
PEAK_BYTES = 64 << 20

NUMBERS = st.one_of(st.integers(min_value=-(10 ** 30), max_value=10 ** 30), st.floats(allow_nan=True, allow_infinity=True),
                    st.sampled_from([0, -1, 1e308, -1e308, 1e-9, 2 ** 63, 2 ** 32]))
TEXT = st.text(alphabet=st.characters(codec="utf-8"), max_size=40)
SCALARS = st.one_of(NUMBERS, TEXT, st.booleans(), st.none())
VALUES = st.recursive(SCALARS, lambda inner: st.one_of(st.lists(inner, max_size=4),
                                                       st.dictionaries(TEXT, inner, max_size=4)), max_leaves=12)


def one_line_or_value(fn, *args):
    """Call ``fn(*args)`` under tracemalloc; fail on any exception but UserError, a multi-line message, or a
    large peak allocation."""
    tracemalloc.start()
    try:
        return fn(*args)
    except UserError as exc:
        assert "\n" not in str(exc), str(exc)
        assert "Traceback" not in str(exc)
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert peak < PEAK_BYTES, f"peak {peak / 2 ** 20:.0f} MB"


def _yaml_of(value) -> str:
    import yaml
    return yaml.safe_dump(value, allow_unicode=True)


@prop
@given(st.binary(max_size=300))
def test_yaml_bytes(data):
    one_line_or_value(load_yaml, data)


@pytest.mark.fuzz_full
def test_yaml_alias_fanout_is_refused_small():
    _alias_fanout()


@settings(max_examples=4, deadline=None)
@given(st.integers(2, 12), st.integers(2, 12))
def _alias_fanout(width, depth):
    lines = [f"l0: &l0 [{', '.join(['x'] * width)}]"]
    lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * width)}]" for i in range(1, depth)]
    one_line_or_value(load_yaml, "\n".join(lines))


@prop
@given(st.dictionaries(st.sampled_from(TIMELINE_FIELDS), VALUES, max_size=6),
       st.lists(st.dictionaries(st.sampled_from(KEYFRAME_FIELDS), VALUES, max_size=5), max_size=4))
def test_timelines(top, keyframes):
    doc = dict(top, keyframes=keyframes)
    doc.setdefault("model", "builtin:default")
    one_line_or_value(parse_timeline, _yaml_of(doc))


@prop
@given(st.text(alphabet="0123456789-, x", max_size=60))
def test_seed_lists_stay_lazy(text):
    seeds = one_line_or_value(parse_seeds, text)
    if seeds is not None:
        assert len(seeds) >= 1 and all(0 <= s < 2 ** 32 for s in seeds[:5])


@prop
@given(st.one_of(st.text(alphabet="0123456789-, ", max_size=40), st.lists(st.integers(0, 10 ** 12), max_size=5)),
       st.integers(1, 32))
def test_layer_specs(spec, num_ws):
    try:
        one_line_or_value(parse_layers, spec, num_ws)
    except ValueError as exc:  # the documented user-ready error of parse_layers
        assert "\n" not in str(exc)


@prop
@given(st.sampled_from(sorted(registered_architectures())),
       st.dictionaries(st.sampled_from(["z_dim", "w_dim", "c_dim", "img_resolution", "img_channels", "ngf",
                                        "max_channels", "embed_dim", "synthesis_kwargs", "mapping_kwargs", "width",
                                        "unknown_option"]), VALUES, max_size=4))
def test_model_settings_validate_before_build(arch, kwargs):
    cls = generator_class(arch)
    try:
        check_kwargs(cls, kwargs, arch)
    except CheckpointError as exc:
        assert "\n" not in str(exc) and arch in str(exc)
        return
    with torch.device("meta"):  # anything the schema lets through builds, or fails as one CheckpointError line
        try:
            from ganlib.networks.config_check import build_checked
            build_checked(cls, kwargs, arch)
        except CheckpointError as exc:
            assert "\n" not in str(exc)


@prop
@given(st.binary(max_size=200))
def test_random_pickle_bytes(tmp_path_factory, data):
    p = tmp_path_factory.mktemp("pk") / "x.pkl"
    p.write_bytes(b"\x80\x04" + data)
    one_line_or_value(safe_load, p, allowed_globals())


@prop
@given(VALUES)
def test_pickled_structures(tmp_path_factory, value):
    p = tmp_path_factory.mktemp("pk") / "v.pkl"
    p.write_bytes(pickle.dumps(value))
    one_line_or_value(safe_load, p, allowed_globals())


@pytest.mark.parametrize("exc, says", [(MemoryError(), "out of memory"), (OSError(28, "No space left on device", "f"),
                                                                          "disk full"),
                                       (UserError("bad \x1b[31m"), "\\x1b"), (ZeroDivisionError("x"), "internal error")])
def test_ui_errors_reach_the_browser_with_text(exc, says):
    @user_errors
    def handler():
        raise exc
    with pytest.raises(gr.Error) as info:
        handler()
    assert says in str(info.value.message) and "\x1b" not in str(info.value.message)


def test_ui_request_size_is_bounded():
    calls = []

    @user_errors
    def handler(text):
        calls.append(text)
    with pytest.raises(gr.Error, match="ui_request_bytes"):
        handler("x" * (65 << 20))
    assert not calls


# Found by test_random_pickle_bytes: a length-prefixed opcode declaring far more than the file holds (LONG4 with a
# 64 MB integer took 64 MB before "truncated"), and a memo index the C unpickler grows its memo to (4 GB from 8 bytes).
_BIG = 1 << 26
@pytest.mark.parametrize("body", [b"\x8b" + _BIG.to_bytes(4, "little"), b"T" + _BIG.to_bytes(4, "little"),
                                  b"B" + _BIG.to_bytes(4, "little"), b"X" + _BIG.to_bytes(4, "little"),
                                  b"\x8e" + _BIG.to_bytes(8, "little"), b"\x8d" + _BIG.to_bytes(8, "little"),
                                  b"\x96" + _BIG.to_bytes(8, "little"), b"\x95" + _BIG.to_bytes(8, "little"),
                                  b"C\xff", b"U\xff", b"\x8a\xff", b"\x8c\xff",
                                  b"Nr\xff\xff\xff\x0f", b"Np99999999999\n", b"Nq\xff"],
                         ids=["LONG4", "BINSTRING", "BINBYTES", "BINUNICODE", "BINBYTES8", "BINUNICODE8",
                              "BYTEARRAY8", "FRAME", "SHORT_BINBYTES", "SHORT_BINSTRING", "LONG1",
                              "SHORT_BINUNICODE", "LONG_BINPUT", "PUT", "BINPUT"])
def test_declared_lengths_are_checked_before_allocation(tmp_path, body):
    p = tmp_path / "x.pkl"
    p.write_bytes(b"\x80\x04" + body)
    tracemalloc.start()
    try:
        with pytest.raises(CheckpointError, match="truncated or corrupt") as info:
            safe_load(p, allowed_globals())
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20, f"peak {peak / 2 ** 20:.1f} MB"
    assert "\n" not in str(info.value)


def test_opcode_scan_passes_real_pickles_of_every_protocol(tmp_path):
    value = {"a": [1, 2 ** 80, -3.5, "é" * 300, b"\x00" * 70_000], "b": ("t", None, True)}
    value["c"] = value["a"]  # a shared reference: memo put and get
    for protocol in range(pickle.HIGHEST_PROTOCOL + 1):
        p = tmp_path / f"p{protocol}.pkl"
        p.write_bytes(pickle.dumps(value, protocol=protocol))
        assert safe_load(p, allowed_globals()) == value
