"""Every CLI of the recommender, run on broken files: exit status 2 and one line of error that
names the file (and, for text files, the line and column), never a traceback.

train and evaluate read interaction and title CSVs, train and recommend read checkpoints,
recommend reads a file of user ids and writes a CSV. (The ope CLI is being written on
another branch; its bad-file tests come with it.)
"""

import subprocess
import sys
from pathlib import Path

import pytest
import torch

from recommender.data import Interactions
from recommender.evaluate import evaluate_main
from recommender.popularity import PopularityRecommender
from recommender.recommend import recommend_main
from recommender.train import train_main

ROOT = Path(__file__).resolve().parents[2]
GOOD = "user_id,item_id,timestamp\n" + "".join(
    f"u{u},i{(u + k) % 7},{10 * u + k}\n" for u in range(6) for k in range(4)
)
ITEMS = "item_id,genres,year,text\n" + "".join(f"i{i},Drama,2001,a story\n" for i in range(7))

# name -> (file bytes or None for "missing" / "dir" for a directory, line, column)
INTERACTIONS = {
    "missing": (None, None, None),
    "a directory": ("dir", None, None),
    "empty": (b"", 1, None),
    "header only": (b"user_id,item_id,timestamp\n", 2, None),
    "unknown column": (b"user_id,item_id,when\nu1,i1,1\n", 1, "when"),
    "a field short": (GOOD.encode() + b"u9,i1\n", 26, None),
    "bad time": (b"user_id,item_id,timestamp\nu1,i1,1\nu2,i2,soon\n", 3, "timestamp"),
    "bad weight": (b"user_id,item_id,timestamp,weight\nu1,i1,1,-2\n", 2, "weight"),
    "not utf-8": (b"user_id,item_id,timestamp\nu1,i1,1\nu\xff2,i2,2\n", 3, None),
    "a huge field": (
        b"user_id,item_id,timestamp\nu1,i1,1\nu2," + b"x" * 200_000 + b",2\n",
        3,
        None,
    ),
    "a NUL byte": (b"user_id,item_id,timestamp\nu1,i1,1\nu2,i\x002,2\n", 3, "item_id"),
}
ITEM_FILES = {
    "empty": (b"", 1, None),
    "bad year": (b"item_id,genres,year,text\ni1,Drama,old,x\n", 2, "year"),
    "repeated id": (b"item_id,genres,year,text\ni1,Drama,2001,x\ni1,Drama,2002,y\n", 3, "item_id"),
    "not utf-8": (b"item_id,genres,year,text\ni1,Dr\xe9ma,2001,x\n", 2, None),
    "a huge field": (b"item_id,genres,year,text\ni1,Drama,2001," + b"x" * 200_000 + b"\n", 2, None),
}


def place(tmp_path: Path, name: str, content) -> Path:
    path = tmp_path / name.replace(" ", "-")
    if content == "dir":
        path.mkdir()
    elif content is not None:
        path.write_bytes(content)
    return path


def assert_named(capsys, code: int, path: Path, line: int | None, column: str | None) -> None:
    err = capsys.readouterr().err
    assert code == 2, err
    assert "Traceback" not in err
    (message,) = [text for text in err.splitlines() if text.startswith("error:")]
    assert str(path) in message, message
    if line is not None:
        assert f"line {line}" in message, message
    if column is not None:
        assert f"column '{column}'" in message, message


@pytest.fixture
def good(tmp_path) -> Path:
    path = tmp_path / "good.csv"
    path.write_text(GOOD)
    return path


@pytest.fixture
def checkpoint(tmp_path, good) -> Path:
    directory = tmp_path / "model"
    PopularityRecommender().fit(Interactions.from_csv(good)).save(directory)
    return directory


@pytest.mark.parametrize("case", sorted(INTERACTIONS))
def test_train_names_the_broken_interactions_file(tmp_path, capsys, case):
    content, line, column = INTERACTIONS[case]
    path = place(tmp_path, case, content)
    code = train_main(["--interactions", str(path), "--model", "popularity",
                       "--out", str(tmp_path / "out")])  # fmt: skip
    assert_named(capsys, code, path, line, column)
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("case", sorted(INTERACTIONS))
def test_evaluate_names_the_broken_interactions_file(tmp_path, capsys, case):
    content, line, column = INTERACTIONS[case]
    path = place(tmp_path, case, content)
    code = evaluate_main(["--interactions", str(path), "--models", "popularity",
                          "--bootstrap", "0"])  # fmt: skip
    assert_named(capsys, code, path, line, column)


@pytest.mark.parametrize("case", sorted(ITEM_FILES))
@pytest.mark.parametrize("cli", ["train", "evaluate"])
def test_train_and_evaluate_name_the_broken_items_file(tmp_path, capsys, good, case, cli):
    content, line, column = ITEM_FILES[case]
    path = place(tmp_path, case, content)
    if cli == "train":
        code = train_main(["--interactions", str(good), "--items", str(path),
                           "--model", "popularity", "--out", str(tmp_path / "out")])  # fmt: skip
    else:
        code = evaluate_main(["--interactions", str(good), "--items", str(path),
                              "--models", "popularity", "--bootstrap", "0"])  # fmt: skip
    assert_named(capsys, code, path, line, column)


def broken_checkpoints(tmp_path: Path, checkpoint: Path) -> dict[str, Path]:
    """Model directories that cannot be loaded, each as it goes wrong in practice."""
    cases = {"missing": tmp_path / "nowhere", "empty dir": tmp_path / "empty"}
    cases["empty dir"].mkdir()
    truncated = tmp_path / "truncated"
    truncated.mkdir()
    data = (checkpoint / "checkpoint.pt").read_bytes()
    (truncated / "checkpoint.pt").write_bytes(data[: len(data) // 2])
    garbage = tmp_path / "garbage"
    garbage.mkdir()
    (garbage / "checkpoint.pt").write_bytes(b"\x00\xffnot a checkpoint" * 10)
    tensor = tmp_path / "tensor"
    tensor.mkdir()
    torch.save(torch.zeros(3), tensor / "checkpoint.pt")
    cases.update(truncated=truncated, garbage=garbage, tensor=tensor)
    return cases


CHECKPOINT_CASES = ["missing", "empty dir", "truncated", "garbage", "tensor"]


@pytest.mark.parametrize("case", CHECKPOINT_CASES)
def test_recommend_names_the_broken_checkpoint(tmp_path, capsys, checkpoint, case):
    path = broken_checkpoints(tmp_path, checkpoint)[case]
    code = recommend_main(["--checkpoint", str(path), "--users", "all"])
    assert_named(capsys, code, path, None, None)


@pytest.mark.parametrize("case", CHECKPOINT_CASES)
def test_train_names_the_broken_warm_start_checkpoint(tmp_path, capsys, checkpoint, good, case):
    path = broken_checkpoints(tmp_path, checkpoint)[case]
    code = train_main(["--interactions", str(good), "--model", "popularity",
                       "--warm-start", str(path), "--out", str(tmp_path / "out")])  # fmt: skip
    assert_named(capsys, code, path, None, None)


@pytest.mark.parametrize(
    ("content", "line"),
    [(b"user_id\nu1\nno-such-member\n", 3), (b"u1\n\xff\xfe\n", 2), (b"", None), ("dir", None)],
)
def test_recommend_names_the_broken_users_file(tmp_path, capsys, checkpoint, content, line):
    path = place(tmp_path, "users", content)
    code = recommend_main(["--checkpoint", str(checkpoint), "--users", str(path)])
    assert_named(capsys, code, path, line, None)


def test_recommend_names_an_output_path_it_cannot_write(tmp_path, capsys, checkpoint):
    out = tmp_path / "taken"
    out.mkdir()
    code = recommend_main(["--checkpoint", str(checkpoint), "--users", "all", "--out", str(out)])
    assert_named(capsys, code, out, None, None)


@pytest.mark.parametrize("module", ["recommender.train", "recommender.evaluate"])
def test_the_modules_exit_2_without_a_traceback(tmp_path, module):
    path = place(tmp_path, "bad", INTERACTIONS["not utf-8"][0])
    argv = ["--interactions", str(path), "--model" if module.endswith("train") else "--models",
            "popularity"] + (["--out", str(tmp_path / "o")] if module.endswith("train") else [])  # fmt: skip
    result = subprocess.run(
        [sys.executable, "-m", module, *argv], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr and f"{path} line 3" in result.stderr
