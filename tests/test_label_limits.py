"""Label counts are capped by the one ``label_classes`` limit wherever labels are declared: class sub-folders of an
image folder (counted lazily, one past the limit), a zip's class folders, condition/label rows of a .csv/.npy file
(checked from the header or line by line, before the array is built), and the UI's class picker (an index checked
against the model's ``c_dim``): each refusal is one line naming the file and the limit, never a traceback."""
from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest
from PIL import Image

from ganlib import limits
from ganlib.checkpoints import LoadedModel
from ganlib.data.datasets import open_dataset
from ganlib.data.feature_files import read_features
from ganlib.errors import DataError, UserError
from ganlib.networks.conditional import ConditionalGenerator
from studio.ui import imaging
from tests.conftest import run_cli


@pytest.fixture
def few_classes():
    limits.set_limit("label_classes", 4)
    yield 4
    limits._overrides.pop("label_classes", None)


def _png(path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", (8, 8), (40, 90, 200)).save(path)


def test_a_folder_with_one_class_folder_too_many_is_refused_before_listing(tmp_path, few_classes):
    for k in range(few_classes + 1):
        (tmp_path / "data" / "top" / f"class{k}").mkdir(parents=True)  # empty: refused from the count alone
    with pytest.raises(DataError) as err:
        open_dataset(tmp_path / "data", resolution=8)
    text = str(err.value)
    assert "\n" not in text and "top" in text and "label_classes" in text and f"limit of {few_classes}" in text


def test_a_folder_at_the_limit_still_loads_with_its_labels(tmp_path, few_classes):
    for k in range(few_classes):
        _png(tmp_path / "data" / f"class{k}" / "a.png")
    ds = open_dataset(tmp_path / "data", resolution=8)
    assert ds.num_classes == few_classes and sorted(set(ds.labels.tolist())) == list(range(few_classes))


def test_a_zip_with_too_many_class_folders_is_refused(tmp_path, few_classes):
    buf = io.BytesIO()
    Image.new("RGB", (8, 8)).save(buf, "PNG")
    with zipfile.ZipFile(tmp_path / "d.zip", "w") as zf:
        for k in range(few_classes + 1):
            zf.writestr(f"c{k}/a.png", buf.getvalue())
    with pytest.raises(DataError, match="label_classes") as err:
        open_dataset(tmp_path / "d.zip", resolution=8)
    assert "d.zip" in str(err.value) and "classes" in str(err.value)


def test_the_cli_refuses_the_folder_in_one_line_under_a_lowered_limit(tmp_path, few_classes):  # (resets --limit)
    for k in range(3):
        (tmp_path / "data" / f"c{k}").mkdir(parents=True)
    code, out, err = run_cli("--limit", "label_classes=2", "train", "dcgan", "--data", str(tmp_path / "data"),
                              "--out", str(tmp_path / "run"), "--max-steps", "1")
    assert code == 2 and "Traceback" not in err
    lines = [ln for ln in err.strip().splitlines() if ln.startswith("error:")]
    assert len(lines) == 1 and "label_classes" in lines[0] and "limit of 2 classes" in lines[0]


def test_label_rows_wider_than_the_limit_are_refused_in_csv_and_npy(tmp_path, few_classes):
    csv = tmp_path / "labels.csv"
    csv.write_text("a,b,c,d,e\n" + "1,0,0,0,0\n" * 3)
    with pytest.raises(UserError) as err:
        read_features(csv)
    assert "labels.csv:1" in str(err.value) and "label_classes" in str(err.value)
    ok = tmp_path / "ok.csv"
    ok.write_text("a,b,c,d\n1,0,0,0\n0,1,0,0\n")
    assert read_features(ok).shape == (2, 4)
    npy = tmp_path / "labels.npy"
    np.save(npy, np.zeros((2, few_classes + 1)))
    with pytest.raises(UserError, match="label_classes"):
        read_features(npy)


def test_a_npy_declaring_too_many_values_is_refused_from_its_header(tmp_path):
    path = tmp_path / "huge.npy"
    buf = io.BytesIO()
    np.lib.format.write_array_header_1_0(buf, {"descr": "<f8", "fortran_order": False, "shape": (10 ** 9, 16)})
    path.write_bytes(buf.getvalue() + b"\0" * 64)  # 64 bytes of data for 128 GB declared: never read
    with pytest.raises(UserError) as err:
        read_features(path)
    assert "npy_values" in str(err.value) and "\n" not in str(err.value)


KW = dict(z_dim=8, img_resolution=16, img_channels=3, ngf=4, c_dim=3, embed_dim=4)


@pytest.mark.parametrize("typed", ["3", "-1", "1e400", "inf", "nan", "9" * 5000, "no such class"])
def test_the_class_picker_refuses_a_bad_class_in_one_line(typed):
    model = LoadedModel(ConditionalGenerator(**KW).eval(), "cgan", KW, {"class_names": ["a", "b", "c"]})
    assert imaging.condition_fields(model, "b") == {"label": 1}
    assert imaging.condition_fields(model, "2") == {"label": 2}
    with pytest.raises(UserError) as err:
        imaging.condition_fields(model, typed)
    text = str(err.value)
    assert "\n" not in text and len(text) < 200 and "class" in text
