"""Timeline parsing: the schema, one clear error per problem (file, line, field), round trips, latent files."""
from __future__ import annotations

import numpy as np
import pytest

from ganlib.errors import UserError
from studio.errors import TimelineError
from studio.latents import check_latent_shape, latent_space_of, read_features, read_latent
from studio.timeline import (Timeline, check_files, load_timeline, parse_layers, parse_timeline, timeline_from_dict,
                             timeline_to_yaml)

DEMO = """\
model: builtin:default
fps: 30
size: 512
space: w
interpolation: cubic
truncation: 0.7
loop: true
noise: fixed
keyframes:
  - {time: 0,   seed: 12}
  - {time: 4.0, seed: 345, truncation: 0.5, ease: in-out}
  - {time: 8.0, latent: latents/portrait.npy}
output: {path: renders/demo.mp4, codec: h264, crf: 18}
"""


def err(text, source="tl.yaml", **kw) -> TimelineError:
    """Parse ``text`` expecting a TimelineError; check it is an exit-worthy UserError and return it."""
    with pytest.raises(TimelineError) as info:
        parse_timeline(text, source, **kw)
    e = info.value
    assert isinstance(e, UserError)
    assert "\n" not in str(e) and "pydantic" not in str(e).lower() and "validation error" not in str(e).lower()
    return e


def assert_where(e: TimelineError, line: int | None, field: str | None, *words: str, file: str = "tl.yaml"):
    """Check file, line and field on the error and in its text, plus words in the message."""
    text = str(e)
    assert e.file == file and text.startswith(file)
    assert e.line == line, text
    if line is not None:
        assert f"{file}:{line}:" in text
    assert e.field == field, text
    if field is not None:
        assert f"'{field}'" in text
    for w in words:
        assert w in text, (w, text)


# ------------------------------------------------------------------------------------------------- good input
def test_demo_parses_with_defaults(tmp_path):
    tl = parse_timeline(DEMO, "demo.yaml", base_dir=tmp_path)
    assert tl.keyframe_times == [0.0, 4.0, 8.0]
    assert tl.fps == 30.0 and tl.size == 512 and tl.frame_size == (512, 512)
    assert tl.keyframes[1].ease == "in-out" and tl.keyframes[0].ease == "linear"
    assert tl.keyframes[2].latent == str(tmp_path / "latents" / "portrait.npy")
    assert tl.source == "demo.yaml"
    # loop: duration = last time + average spacing (4 s); no duplicated seam frame
    assert tl.total_duration == pytest.approx(12.0)
    assert tl.n_frames == 360
    assert tl.output.format == "mp4" and tl.output.codec_name == "h264"
    assert tl.line_of("keyframes[2].latent") == 12
    assert tl.line_of("keyframes[2]") == 12
    assert tl.line_of("output.codec") == 13


def test_defaults_and_frame_counts():
    tl = parse_timeline("keyframes: [{time: 0, seed: 1}, {time: 2, seed: 2}]\n")
    assert tl.model == "builtin:default" and tl.fps == 30 and tl.space == "w" and tl.interpolation == "cubic"
    assert tl.truncation == 1.0 and tl.loop is False and tl.noise == "fixed" and tl.seed == 0
    assert tl.size is None and tl.frame_size is None
    assert tl.total_duration == 2.0 and tl.n_frames == 61  # last keyframe hit exactly
    assert tl.output_path.as_posix() == "renders/timeline.mp4"
    still = parse_timeline("keyframes: [{time: 0, seed: 1}]\n")
    assert still.n_frames == 1
    held = parse_timeline("duration: 3\nfps: 10\nkeyframes: [{time: 0, seed: 1}, {time: 2, seed: 2}]\n")
    assert held.n_frames == 31
    loop = parse_timeline("loop: true\nfps: 10\nduration: 5\nkeyframes: [{time: 0, seed: 1}, {time: 2, seed: 2}]\n")
    assert loop.n_frames == 50


def test_frame_keyframes_convert_with_fps():
    tl = parse_timeline("fps: 24\nkeyframes: [{frame: 0, seed: 1}, {frame: 48, seed: 2}, {time: 3, seed: 3}]\n")
    assert tl.keyframe_times == [0.0, 2.0, 3.0]
    assert tl.keyframes[1].frame == 48 and tl.keyframes[1].time is None


def test_default_output_named_after_timeline_file(tmp_path):
    f = tmp_path / "sunset.yaml"
    f.write_text("keyframes: [{time: 0, seed: 1}]\n")
    assert load_timeline(f).output_path.as_posix() == "renders/sunset.mp4"


@pytest.mark.parametrize("path,fmt,codec", [("a.mp4", "mp4", "h264"), ("a.MOV", "mov", "h264"),
                                            ("a.webm", "webm", "vp9"), ("a.gif", "gif", None),
                                            ("frames/", "png", None), ("renders/frames", "png", None)])
def test_output_format_from_extension(path, fmt, codec):
    tl = parse_timeline(f"keyframes: [{{time: 0, seed: 1}}]\noutput: {{path: '{path}'}}\n")
    assert tl.output.format == fmt and tl.output.codec_name == codec


def test_size_pair_and_mix_and_directions():
    tl = parse_timeline("size: [768, 512]\nkeyframes:\n"
                        "  - {time: 0, seed: 1, mix: {seed: 9, layers: '8-'}, directions: {pc0: 1.5}, label: 3}\n"
                        "  - {time: 1, seed: 2, mix: {seed: 9, layers: [0, 1]}, features: [0.5, 1]}\n")
    assert tl.frame_size == (768, 512)
    assert tl.keyframes[0].directions == {"pc0": 1.5}
    assert tl.mix_layers(0, 14) == list(range(8, 14))
    assert tl.mix_layers(1, 14) == [0, 1]
    assert tl.keyframes[1].features == [0.5, 1.0]
    with pytest.raises(TimelineError) as info:
        tl.mix_layers(0, 6)
    assert info.value.line == 3 and info.value.field == "keyframes[0].mix.layers"


def test_parse_layers():
    assert parse_layers("8-", 10) == [8, 9]
    assert parse_layers("0-3", 10) == [0, 1, 2, 3]
    assert parse_layers("4,5,6", 10) == [4, 5, 6]
    assert parse_layers("-2, 7", 10) == [0, 1, 2, 7]
    assert parse_layers([3, 1, 3], 10) == [1, 3]
    with pytest.raises(ValueError):
        parse_layers("12", 10)


def test_round_trip_to_yaml(tmp_path):
    tl = parse_timeline(DEMO, "demo.yaml", base_dir=tmp_path)
    text = timeline_to_yaml(tl)
    again = parse_timeline(text)
    assert again == tl
    assert timeline_to_yaml(again) == text
    # relative paths when asked
    rel = timeline_to_yaml(tl, relative_to=tmp_path)
    assert "latents/portrait.npy" in rel and str(tmp_path) not in rel
    assert parse_timeline(rel, base_dir=tmp_path) == tl


def test_round_trip_every_field():
    text = ("model: /models/x.pkl\nfps: 29.97\nsize: [640, 480]\nduration: 10\nspace: z\ninterpolation: slerp\n"
            "truncation: 0.6\ntruncation_cutoff: 8\nloop: true\nnoise: loop\nseed: 7\nlabel: 2\nkeyframes:\n"
            "  - {frame: 3, seed: 1, truncation: 0.4, ease: out, label: 1, features: [1, 2.5],\n"
            "     mix: {seed: 4, layers: '0-3'}, directions: {pc0: -1.0, smile: 0.25}}\n"
            "  - {time: 5.5, latent: /abs/z.npz, latent_space: z, ease: in}\n"
            "output: {path: out/frames/, codec: h265, crf: 23}\n")
    tl = parse_timeline(text)
    assert parse_timeline(timeline_to_yaml(tl)) == tl
    d = tl.model_dump()
    assert timeline_from_dict(d) == tl


def test_timeline_from_dict_errors_have_fields():
    with pytest.raises(TimelineError) as info:
        timeline_from_dict({"fps": "fast", "keyframes": [{"time": 0, "seed": 1}]}, source="ui")
    assert info.value.field == "fps" and "must be a number" in str(info.value)


# ------------------------------------------------------------------------------------------------- bad input
def test_yaml_syntax_error_names_line():
    e = err("fps: 30\nkeyframes:\n  - {time: 0, seed: 1}\n  - time: 1\n   seed: 2\n")
    assert "YAML syntax error" in str(e) and e.line in (4, 5) and "tl.yaml:" in str(e)


def test_tab_indentation_hint():
    e = err("fps: 30\nkeyframes:\n\t- {time: 0, seed: 1}\n")
    assert e.line == 3 and "tabs" in str(e)


@pytest.mark.parametrize("text", ["", "   \n", "# only a comment\n"])
def test_empty_file(text):
    e = err(text)
    assert_where(e, 1, None, "empty", "keyframes")


@pytest.mark.parametrize("data", [b"\x00\x01\x02binary", b"fps: 30\n\x89PNG\x00\x00", b"fps: \xff\xfe 30\n"])
def test_binary_file_is_not_yaml_text(data):
    e = err(data)
    assert "not a YAML text file" in str(e) and e.line is not None


def test_binary_file_via_load(tmp_path):
    f = tmp_path / "image.yaml"
    f.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    with pytest.raises(TimelineError) as info:
        load_timeline(f)
    assert "not a YAML text file" in str(info.value) and str(f) in str(info.value)


@pytest.mark.parametrize("text,kind", [("- 1\n- 2\n", "a list"), ("just text\n", "single value")])
def test_top_level_not_mapping(text, kind):
    e = err(text)
    assert_where(e, 1, None, "top level must be a mapping", kind)


def test_unknown_field_suggestion():
    e = err("fps: 30\ntruncaton: 0.5\nkeyframes: [{time: 0, seed: 1}]\n")
    assert_where(e, 2, "truncaton", "unknown field 'truncaton'", "did you mean 'truncation'?")


def test_unknown_field_lists_allowed():
    e = err("fps: 30\nkeyframes: [{time: 0, seed: 1}]\nbanana: 1\n")
    assert_where(e, 3, "banana", "allowed fields:", "interpolation", "keyframes")


def test_unknown_keyframe_field_suggestion():
    e = err("keyframes:\n  - {time: 0, seed: 1}\n  - {time: 1, sed: 2}\n")
    assert_where(e, 3, "keyframes[1].sed", "did you mean 'seed'?")


def test_unknown_output_field():
    e = err("keyframes: [{time: 0, seed: 1}]\noutput:\n  path: a.mp4\n  codek: h264\n")
    assert_where(e, 4, "output.codek", "did you mean 'codec'?")


def test_missing_keyframes():
    e = err("fps: 30\nmodel: builtin:default\n")
    assert_where(e, 1, "keyframes", "is required")


def test_empty_keyframes():
    e = err("fps: 30\nkeyframes: []\n")
    assert_where(e, 2, "keyframes", "at least one keyframe")


def test_keyframes_not_a_list():
    e = err("keyframes: {time: 0, seed: 1}\n")
    assert_where(e, 1, "keyframes", "must be a list")


def test_keyframe_not_a_mapping():
    e = err("keyframes:\n  - 12\n")
    assert_where(e, 2, "keyframes[0]", "must be a mapping")


def test_times_must_increase_names_both():
    e = err("keyframes:\n  - {time: 0, seed: 1}\n  - {time: 4, seed: 2}\n  - {time: 2, seed: 3}\n")
    assert_where(e, 4, "keyframes[2].time", "keyframes[2]", "keyframes[1]", "strictly increase")


def test_equal_times_via_frame():
    e = err("fps: 10\nkeyframes:\n  - {time: 1, seed: 1}\n  - {frame: 10, seed: 2}\n")
    assert_where(e, 4, "keyframes[1].frame", "keyframes[0]", "frame 10", "strictly increase")


@pytest.mark.parametrize("value,words", [("0", ["greater than 0"]), ("-5", ["greater than 0"]),
                                         ("fast", ["must be a number", "'fast'"]), (".nan", ["finite"]),
                                         ("true", ["must be a number"])])
def test_bad_fps(value, words):
    e = err(f"keyframes: [{{time: 0, seed: 1}}]\nfps: {value}\n")
    assert_where(e, 2, "fps", *words)


def test_unknown_interpolation_lists_allowed():
    e = err("interpolation: bezier\nkeyframes: [{time: 0, seed: 1}]\n")
    assert_where(e, 1, "interpolation", "'linear'", "'slerp'", "'cubic'", "'bezier'")


def test_ease_suggestion():
    e = err("keyframes: [{time: 0, seed: 1, ease: inout}]\n")
    assert_where(e, 1, "keyframes[0].ease", "did you mean 'in-out'?")


def test_seed_and_latent_both():
    e = err("keyframes:\n  - time: 0\n    seed: 1\n    latent: a.npy\n")
    assert_where(e, 4, "keyframes[0].latent", "either 'seed'", "not both")


def test_seed_and_latent_neither():
    e = err("keyframes:\n  - {time: 0, seed: 1}\n  - {time: 1, truncation: 0.5}\n")
    assert_where(e, 3, "keyframes[1]", "needs 'seed'", "'latent'")


def test_time_and_frame_both():
    e = err("keyframes:\n  - time: 0\n    frame: 0\n    seed: 1\n")
    assert_where(e, 3, "keyframes[0].frame", "either 'time'", "not both")


def test_time_and_frame_neither():
    e = err("keyframes:\n  - {seed: 1}\n")
    assert_where(e, 2, "keyframes[0]", "needs 'time'", "'frame'")


@pytest.mark.parametrize("text,line,field,words", [
    ("seed: lots\nkeyframes: [{time: 0, seed: 1}]\n", 1, "seed", ["must be a whole number"]),
    ("keyframes: [{time: 0, seed: 1.5}]\n", 1, "keyframes[0].seed", ["whole number"]),
    ("keyframes: [{time: 0, seed: -3}]\n", 1, "keyframes[0].seed", ["at least 0"]),
    ("keyframes: [{time: 0, seed: 4294967296}]\n", 1, "keyframes[0].seed", ["at most 4294967295"]),
    ("keyframes: [{time: -1, seed: 1}]\n", 1, "keyframes[0].time", ["at least 0"]),
    ("keyframes: [{time: soon, seed: 1}]\n", 1, "keyframes[0].time", ["must be a number"]),
    ("loop: maybe\nkeyframes: [{time: 0, seed: 1}]\n", 1, "loop", ["true or false"]),
    ("truncation: 3\nkeyframes: [{time: 0, seed: 1}]\n", 1, "truncation", ["at most 2"]),
    ("space: y\nkeyframes: [{time: 0, seed: 1}]\n", 1, "space", ["'w'", "'z'"]),
    ("noise: wobbly\nkeyframes: [{time: 0, seed: 1}]\n", 1, "noise", ["'fixed'", "'random'", "'loop'"]),
    ("size: 513\nkeyframes: [{time: 0, seed: 1}]\n", 1, "size", ["even"]),
    ("size: 8\nkeyframes: [{time: 0, seed: 1}]\n", 1, "size", ["between 16 and 4096"]),
    ("size: [512, big]\nkeyframes: [{time: 0, seed: 1}]\n", 1, "size[1]", ["whole number"]),
    ("size: big\nkeyframes: [{time: 0, seed: 1}]\n", 1, "size", ["[width, height]"]),
    ("keyframes:\n  - {time: 0, seed: 1, features: [1, x]}\n", 2, "keyframes[0].features[1]", ["number"]),
    ("keyframes:\n  - {time: 0, latent: a.txt}\n", 2, "keyframes[0].latent", [".npy or .npz"]),
    ("keyframes:\n  - {time: 0, seed: 1, latent_space: w}\n", 2, "keyframes[0].latent_space", ["latent"]),
    ("space: z\nkeyframes:\n  - {time: 0, latent: a.npy, latent_space: w}\n", 3, "keyframes[0].latent_space",
     ["space: w"]),
    ("keyframes:\n  - {time: 0, seed: 1, mix: {seed: 2, layers: 'x-y'}}\n", 2, "keyframes[0].mix.layers",
     ["'8-'"]),
    ("keyframes:\n  - {time: 0, seed: 1, mix: {layers: '8-'}}\n", 2, "keyframes[0].mix.seed", ["required"]),
    ("keyframes:\n  - {time: 0, seed: 1, directions: {pc0: up}}\n", 2, "keyframes[0].directions.pc0",
     ["number"]),
    ("keyframes: [{time: 0, seed: 1}]\noutput: {path: a.avi}\n", 2, "output.path", [".mp4", "'.avi'"]),
    ("keyframes: [{time: 0, seed: 1}]\noutput: {path: a.webm, codec: h264}\n", 2, "output.codec", ["vp9"]),
    ("keyframes: [{time: 0, seed: 1}]\noutput: {crf: 60}\n", 2, "output.crf", ["at most 51"]),
    ("fps: 30\nfps: 24\nkeyframes: [{time: 0, seed: 1}]\n", 2, "fps", ["twice", "line 1"]),
    ("loop: true\nduration: 2\nkeyframes: [{time: 0, seed: 1}, {time: 2, seed: 2}]\n", 2, "duration",
     ["longer than the last keyframe"]),
    ("loop: true\nkeyframes: [{time: 0, seed: 1}]\n", 1, "loop", ["duration"]),
    ("loop: true\nfps: 10\nduration: 2.01\nkeyframes: [{time: 0, seed: 1}, {time: 2, seed: 2}]\n", 3, "duration",
     ["one frame past"]),
    ("duration: 1\nkeyframes:\n  - {time: 0, seed: 1}\n  - {time: 3, seed: 1}\n", 4, "keyframes[1].time",
     ["after the end", "duration"]),
])
def test_other_bad_values(text, line, field, words):
    assert_where(err(text), line, field, *words)


def test_two_documents():
    e = err("fps: 30\n---\nfps: 24\n")
    assert e.line == 2 and "one YAML document" in str(e)


def test_boolean_key_hint():
    e = err("keyframes:\n  - {time: 0, seed: 1, on: 2}\n")
    assert_where(e, 2, "keyframes[0]", "must be text", "quote")


def test_python_tags_refused():
    e = err("keyframes: !!python/object/apply:os.system ['echo hi']\n")
    assert e.line == 1 and "unsupported YAML" in str(e)


def test_first_problem_in_file_is_reported():
    e = err("fps: 0\ninterpolation: spline\nkeyframes: [{time: 0, seed: 1}]\n")
    assert e.line == 1 and e.field == "fps"


# ------------------------------------------------------------------------------------------------- files
def test_load_timeline_resolves_and_checks_latents(tmp_path):
    (tmp_path / "latents").mkdir()
    np.save(tmp_path / "latents" / "portrait.npy", np.zeros(512, np.float32))
    f = tmp_path / "demo.yaml"
    f.write_text(DEMO)
    tl = load_timeline(f)
    assert tl.keyframes[2].latent == str(tmp_path / "latents" / "portrait.npy")
    assert tl.source == str(f)


def test_missing_latent_file_names_path_and_line(tmp_path):
    f = tmp_path / "demo.yaml"
    f.write_text(DEMO)
    with pytest.raises(TimelineError) as info:
        load_timeline(f)
    e = info.value
    assert_where(e, 12, "keyframes[2].latent", "not found", str(tmp_path / "latents" / "portrait.npy"),
                 file=str(f))


def test_missing_feature_file(tmp_path):
    f = tmp_path / "t.yaml"
    f.write_text("keyframes:\n  - {time: 0, seed: 1, features: feats/a.npy}\n")
    with pytest.raises(TimelineError) as info:
        load_timeline(f)
    assert_where(info.value, 2, "keyframes[0].features", "not found", "feats", file=str(f))


def test_check_files_on_parsed_timeline(tmp_path):
    tl = parse_timeline("keyframes: [{time: 0, latent: nope.npz}]\n", "x.yaml", base_dir=tmp_path)
    with pytest.raises(TimelineError):
        check_files(tl)


def test_missing_timeline_file(tmp_path):
    with pytest.raises(TimelineError) as info:
        load_timeline(tmp_path / "nope.yaml")
    assert "not found" in str(info.value) and "nope.yaml" in str(info.value)
    with pytest.raises(TimelineError) as info:
        load_timeline(tmp_path)
    assert "folder" in str(info.value)


# ------------------------------------------------------------------------------------------------- latents
def test_read_latent_npy_and_npz(tmp_path):
    np.save(tmp_path / "z.npy", np.arange(8, dtype=np.float32))
    arr, hint = read_latent(tmp_path / "z.npy")
    assert arr.dtype == np.float64 and arr.shape == (8,) and hint is None
    np.savez(tmp_path / "proj.npz", w=np.ones((1, 4, 8), np.float32))
    arr, hint = read_latent(tmp_path / "proj.npz")
    assert hint == "w" and arr.shape == (1, 4, 8)
    np.savez(tmp_path / "one.npz", np.ones(8))
    assert read_latent(tmp_path / "one.npz")[1] is None
    np.savez(tmp_path / "zz.npz", z=np.ones(8))
    assert read_latent(tmp_path / "zz.npz")[1] == "z"


def test_read_latent_errors(tmp_path):
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    with pytest.raises(TimelineError) as info:
        read_latent(tmp_path / "obj.npy", line=7, source="tl.yaml", field="keyframes[1].latent")
    e = info.value
    assert e.file == "tl.yaml" and e.line == 7 and "obj.npy" in str(e) and "pickled" in str(e)
    np.save(tmp_path / "nan.npy", np.array([1.0, np.nan]))
    with pytest.raises(TimelineError, match="NaN"):
        read_latent(tmp_path / "nan.npy")
    (tmp_path / "junk.npy").write_bytes(b"not numpy at all")
    with pytest.raises(TimelineError, match="cannot be read"):
        read_latent(tmp_path / "junk.npy")
    np.savez(tmp_path / "two.npz", a=np.ones(3), b=np.ones(3))
    with pytest.raises(TimelineError, match="'w' or 'z'"):
        read_latent(tmp_path / "two.npz")
    np.save(tmp_path / "str.npy", np.array(["a", "b"]))
    with pytest.raises(TimelineError, match="expected numbers"):
        read_latent(tmp_path / "str.npy")
    with pytest.raises(TimelineError, match="not found"):
        read_latent(tmp_path / "absent.npy")


def test_read_features(tmp_path):
    np.save(tmp_path / "f.npy", np.ones((1, 5)))
    assert read_features(tmp_path / "f.npy").shape == (5,)
    with pytest.raises(TimelineError, match="takes 6"):
        read_features(tmp_path / "f.npy", c_dim=6)
    np.save(tmp_path / "g.npy", np.ones((2, 5)))
    with pytest.raises(TimelineError, match=r"\[C\]"):
        read_features(tmp_path / "g.npy")


def test_check_latent_shape():
    dims = dict(z_dim=6, w_dim=4, num_ws=3)
    assert check_latent_shape(np.ones(6), "z", **dims).shape == (6,)
    assert check_latent_shape(np.ones((1, 6)), "z", **dims).shape == (6,)
    row = np.arange(4.0)
    for shape in [(4,), (1, 4)]:
        out = check_latent_shape(row.reshape(shape), "w", **dims)
        assert out.shape == (3, 4) and np.all(out == row)
    full = np.arange(12.0).reshape(3, 4)
    assert np.array_equal(check_latent_shape(full, "w", **dims), full)
    assert np.array_equal(check_latent_shape(full[None], "w", **dims), full)
    with pytest.raises(TimelineError) as info:
        check_latent_shape(np.ones((1, 5, 4)), "w", **dims, file="tl.yaml", line=3, field="keyframes[0].latent")
    text = str(info.value)
    assert "tl.yaml:3" in text and "[1, 5, 4]" in text and "[3, 4]" in text and "5 layers" in text
    with pytest.raises(TimelineError, match=r"\[6\] or \[1, 6\]"):
        check_latent_shape(np.ones(5), "z", **dims)
    with pytest.raises(TimelineError, match="no w space"):
        check_latent_shape(np.ones(4), "w", z_dim=6, w_dim=0, num_ws=0)


def test_latent_space_of():
    assert latent_space_of(np.ones(4), None, None, "w") == "w"
    assert latent_space_of(np.ones(4), None, None, "z") == "z"
    assert latent_space_of(np.ones(4), None, "z", "w") == "z"
    assert latent_space_of(np.ones((1, 3, 4)), None, None, "z") == "w"
    assert latent_space_of(np.ones(4), "w", None, "z") == "w"
    with pytest.raises(TimelineError):
        latent_space_of(np.ones(4), "w", "z", "w")


def test_timeline_equality_ignores_source():
    a = parse_timeline("keyframes: [{time: 0, seed: 1}]\n", "a.yaml")
    b = parse_timeline("keyframes: [{time: 0, seed: 1}]\n", "b.yaml")
    assert a == b and isinstance(a, Timeline)
