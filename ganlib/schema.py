"""The one schema layer: YAML text → validated pydantic model → one error style.

Timelines (``studio.timeline``), training configs (``ganlib.train.config``, every KIND) and experiment grids
(``ganlib.train.experiment_spec``) all read YAML and report problems through this module, so they agree on:

* **YAML dialect**: PyYAML's safe loader plus YAML 1.2-style floats (``3e1``, ``1e-4`` and ``-2E+3`` are floats;
  YAML 1.1 leaves them strings). Duplicate keys and self-referencing aliases are refused; only plain YAML tags.
* **Line numbers**: every field path (``keyframes[2].time``, ``data.flip``) maps to its 1-based line.
* **One error style**: a pydantic ``ValidationError`` becomes ONE :class:`ganlib.errors.UserError` (of the caller's
  subclass: ``TimelineError``, ``ConfigError``) naming the file, line and field path and saying what is allowed,
  ``file:line: 'field.path': message``; unknown fields get "did you mean ...?". Pydantic's own text never reaches
  the user. The problem that comes first in the file is reported.

Public API::

    load_yaml(text, source, error=UserError, what="YAML file") -> (data, lines)
    read_yaml_file(path, error=UserError, what="file") -> (data, lines)
    parse_scalar(text) -> value                      # a --set value, read as YAML 1.2-style
    validate(model, data, source=, lines=, error=, context=, hints=) -> model instance
    translate(exc, model, source=, lines=, error=, hints=) -> UserError
    fail(message, *at) -> PydanticCustomError        # raise inside validators with a ready message
    suggest(word, choices) -> str | None
    resolve_path(value, base_dir) -> str
    path_str(loc) -> str; line_of(lines, path) -> int | None; show(value) -> str
"""
from __future__ import annotations

import difflib
import math
import os
import re
import sys
import types
import typing
from pathlib import Path
from typing import Any, Callable, Iterable

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import PydanticCustomError

from ganlib import limits
from ganlib.errors import UserError
from ganlib.paths import input_file, os_error_text

_AT = "_at_"  # key in a PydanticCustomError's ctx: extra path below the error's loc
_KIND = "user_message"


class NumberTooLong(yaml.YAMLError):
    """An integer scalar with more digits than Python converts (``sys.get_int_max_str_digits()``, 4,300)."""

    def __init__(self, node: yaml.Node):
        super().__init__(f"an integer of {len(node.value):,} digits")
        self.line = node.start_mark.line + 1
        self.digits = len(node.value)


class YAMLLoader(yaml.SafeLoader):
    """PyYAML's safe loader that also reads YAML 1.2-style floats without a dot (``3e1``, ``1e-4``) as floats, and
    refuses integers too long to convert (``NumberTooLong``) instead of raising a bare ValueError."""

    def construct_yaml_int(self, node):  # noqa: D102 - PyYAML hook
        try:
            return super().construct_yaml_int(node)
        except ValueError:
            raise NumberTooLong(node) from None


YAMLLoader.add_constructor("tag:yaml.org,2002:int", YAMLLoader.construct_yaml_int)


YAMLLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9][0-9_]*)(?:\.[0-9_]*)?[eE][-+]?[0-9]+$"),
    list("-+0123456789"))


# ------------------------------------------------------------------------------------------------- small helpers
def suggest(word: Any, choices: Iterable[Any], cutoff: float = 0.6) -> str | None:
    """Return the choice closest to ``word`` (difflib), or None when none is close enough."""
    close = difflib.get_close_matches(str(word), [str(c) for c in choices], n=1, cutoff=cutoff)
    return close[0] if close else None


def did_you_mean(word: Any, choices: Iterable[Any]) -> str:
    """Return ``"; did you mean 'x'?"`` for the closest choice, or "" when there is none."""
    close = suggest(word, choices)
    return f"; did you mean '{close}'?" if close else ""


def show(v: Any) -> str:
    """Short user-facing rendering of a YAML value (``null``, ``true``, ``'text'``, ``a list``, ...)."""
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, dict):
        return "a mapping"
    if isinstance(v, (list, tuple)):
        return "a list"
    text = repr(v) if isinstance(v, str) else str(v)
    return text if len(text) <= 40 else text[:37] + "..."


def _num(v: Any) -> str:
    """A bound for a message: 0 not 0.0, 4294967295 not 4.29e+09."""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


def path_str(loc: Iterable[Any]) -> str:
    """Render a loc tuple as a field path: ``('keyframes', 2, 'time')`` → ``keyframes[2].time``."""
    out = ""
    for part in loc:
        if isinstance(part, int) and not isinstance(part, bool):
            out += f"[{part}]"
        elif _IDENT.match(str(part)):
            out += ("." if out else "") + str(part)
        else:
            out += f"[{str(part)!r}]"
    return out


def line_of(lines: dict[str, int], path: str) -> int | None:
    """Return the line of field ``path`` (``keyframes[2].latent``) or of its nearest parent in ``lines``."""
    while True:
        if path in lines:
            return lines[path]
        if not path:
            return None
        cut = max(path.rfind("."), path.rfind("["))
        path = path[:cut] if cut > 0 else ""


def fail(message: str, *at: str | int) -> PydanticCustomError:
    """Build the error a validator raises: ``message`` already user-ready, ``at`` a sub-path below its loc."""
    return PydanticCustomError(_KIND, message, {_AT: tuple(at)})


def resolve_path(value: str, base_dir: str | Path | None) -> str:
    """Expand ``~`` and make ``value`` absolute against ``base_dir`` (a folder, e.g. the YAML file's); without a
    ``base_dir`` a relative path is kept as written. A trailing ``/`` (a folder) is kept."""
    folder = value.endswith(("/", "\\"))
    p = Path(os.path.expanduser(value))
    if base_dir is not None and not p.is_absolute():
        p = Path(base_dir) / p
    if base_dir is None and not p.is_absolute():
        return value
    out = os.path.normpath(str(p.absolute()))
    return out + "/" if folder and not out.endswith(("/", "\\")) else out


# ---------------------------------------------------------------------------------------------------- YAML text
def _decode(text: str | bytes, source: str, error: type[UserError]) -> str:
    """Return the text of a YAML file, refusing binary data (NUL bytes, not UTF-8)."""
    if isinstance(text, (bytes, bytearray)):
        raw = bytes(text)
        if b"\x00" in raw:
            line = raw[:raw.index(b"\x00")].count(b"\n") + 1
            raise error("is not a YAML text file: it contains binary data (NUL bytes)", file=source, line=line)
        try:
            return raw.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            line = raw[:exc.start].count(b"\n") + 1
            raise error(f"is not a YAML text file: it is not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset "
                        f"{exc.start})", file=source, line=line) from None
    if "\x00" in text:
        line = text[:text.index("\x00")].count("\n") + 1
        raise error("is not a YAML text file: it contains binary data (NUL bytes)", file=source, line=line)
    return text[1:] if text.startswith("\ufeff") else text


def _line_map(root: yaml.Node, source: str, error: type[UserError], what: str) -> dict[str, int]:
    """Map each field path to its 1-based line; reject duplicate keys and alias loops."""
    lines: dict[str, int] = {"": root.start_mark.line + 1}
    stack: set[int] = set()
    unique: set[int] = set()
    visits = [0]
    alias_budget, depth_limit = limits.get("yaml_alias_nodes"), limits.get("yaml_depth")

    def walk(node: yaml.Node, loc: tuple) -> None:
        if id(node) in stack:
            raise error(f"a YAML alias refers to itself; a {what} cannot be recursive", file=source,
                        line=node.start_mark.line + 1, field=path_str(loc) or None)
        visits[0] += 1
        unique.add(id(node))
        if visits[0] - len(unique) > alias_budget:  # nodes reached again through aliases ("billion laughs")
            raise error(f"YAML aliases expand to more than {alias_budget:,} nodes; a {what} cannot repeat "
                        f"anchors that much", file=source, line=node.start_mark.line + 1)
        if len(loc) > depth_limit:
            raise error(f"YAML is nested more than {depth_limit} levels deep", file=source,
                        line=node.start_mark.line + 1)
        stack.add(id(node))
        if isinstance(node, yaml.MappingNode):
            seen: dict[str, int] = {}
            for key_node, value_node in node.value:
                key = key_node.value if isinstance(key_node, yaml.ScalarNode) else "?"
                line = key_node.start_mark.line + 1
                if key == "<<":  # a merge key: its fields are merged in by the constructor
                    continue
                if key in seen:
                    raise error(f"'{key}' is given twice (first on line {seen[key]}); give each field once",
                                file=source, line=line, field=path_str(loc + (key,)))
                seen[key] = line
                lines[path_str(loc + (key,))] = line
                walk(value_node, loc + (key,))
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                lines[path_str(loc + (i,))] = item.start_mark.line + 1
                walk(item, loc + (i,))
        stack.discard(id(node))

    walk(root, ())
    return lines


def _yaml_problem(exc: yaml.MarkedYAMLError, what: str) -> str:
    """One sentence for a PyYAML syntax or constructor error."""
    mark = exc.problem_mark or exc.context_mark
    problem = exc.problem or exc.context or "invalid YAML"
    if isinstance(exc, yaml.constructor.ConstructorError):
        detail = f"unsupported YAML: {problem}; a {what} is plain YAML (no tags such as !!python)"
    elif exc.context and exc.problem and exc.problem.startswith("but "):
        detail = f"YAML syntax error (invalid YAML): {exc.context}, {exc.problem}"
        if "single document" in exc.context:
            detail += f"; a {what} holds one YAML document (remove the extra '---')"
    else:
        detail = f"YAML syntax error (invalid YAML): {problem}"
        if exc.context and exc.problem:
            detail += f" ({exc.context}"
            cm = exc.context_mark
            if cm is not None and mark is not None and cm.line != mark.line:
                detail += f" started on line {cm.line + 1}"
            detail += ")"
    if "'\\t'" in problem:
        detail += "; YAML does not allow tabs for indentation, use spaces"
    return detail


def load_yaml(text: str | bytes, source: str = "<string>", error: type[UserError] = UserError,
              what: str = "YAML file") -> tuple[Any, dict[str, int]]:
    """Read YAML ``text`` (str or bytes) with :class:`YAMLLoader`; return ``(data, lines)`` where ``lines`` maps
    field paths to 1-based lines (``{}`` for an empty document, data None). Any problem (binary data, syntax,
    duplicate key, unsupported tag) raises ``error`` with the file and line; ``what`` names the document."""
    source = str(source)
    limits.check("yaml_bytes", len(text), f"the {what}", error=error, file=source)
    text = _decode(text, source, error)
    loader = None
    try:
        loader = YAMLLoader(text)  # its reader already refuses control characters
        node = loader.get_single_node()
        if node is None:
            return None, {}
        lines = _line_map(node, source, error, what)
        return loader.construct_document(node), lines
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise error(_yaml_problem(exc, what), file=source, line=mark.line + 1 if mark else None) from None
    except yaml.reader.ReaderError as exc:
        line = text[:exc.position].count("\n") + 1
        raise error(f"is not a YAML text file: it contains a control character (#x{exc.character:04x})",
                    file=source, line=line) from None
    except NumberTooLong as exc:
        raise error(f"an integer of {exc.digits:,} digits; numbers here have at most "
                    f"{sys.get_int_max_str_digits() or 4300:,} digits", file=source, line=exc.line) from None
    except yaml.YAMLError as exc:
        raise error(f"invalid YAML: {exc}", file=source) from None
    except RecursionError:
        raise error("YAML is nested too deeply", file=source) from None
    finally:
        if loader is not None:
            loader.dispose()


def read_yaml_file(path: str | Path, error: type[UserError] = UserError, what: str = "file"
                   ) -> tuple[Any, dict[str, int]]:
    """Read the YAML file ``path``; return ``(data, lines)`` as :func:`load_yaml`. A missing file, a folder or an
    unreadable file raises ``error`` naming the path."""
    p = input_file(path, what, error)  # missing, a folder, a FIFO or a device: one line, never a blocking open
    try:
        limits.check("yaml_bytes", p.stat().st_size, f"the {what}", error=error, file=str(path))
        raw = p.read_bytes()
    except OSError as exc:
        raise error(f"cannot read the {what}: {os_error_text(exc)}", file=str(path)) from None
    return load_yaml(raw, str(path), error, what)


def parse_scalar(text: str) -> Any:
    """Read one ``--set`` value as YAML (1.2-style floats: ``1e-4`` is a float; ``[0, 0.9]`` a list; ``null``
    None); text that is not valid YAML stays the text as written. Returns the value."""
    if not text.strip():
        return ""
    try:
        return load_yaml(text)[0]  # the same budgets (aliases, nesting, size) as a file
    except UserError:
        return text


# ------------------------------------------------------------------------------------------ pydantic → UserError
def _options(annotation: Any) -> tuple:
    """The members of a union annotation (``Foo | None`` → ``(Foo, NoneType)``), else ``(annotation,)``."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return typing.get_args(annotation)
    return (annotation,)


def _model_class(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model inside an annotation (``Foo``, ``Foo | None``), else None."""
    for arg in _options(annotation):
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            return arg
    return None


def _item_annotation(annotation: Any) -> Any:
    """The annotation of one item of a list/dict annotation (``list[Foo] | None`` → ``Foo``), else None."""
    for arg in _options(annotation):
        origin, args = typing.get_origin(arg), typing.get_args(arg)
        if origin in (list, tuple, set) and args:
            return args[0]
        if origin is dict and len(args) == 2:
            return args[1]
    return None


def model_at(root: type[BaseModel], loc: tuple) -> type[BaseModel] | None:
    """Return the model whose fields live at ``loc`` below ``root`` (``('keyframes', 2)`` → ``Keyframe``), or
    None when ``loc`` does not lead to a model."""
    annotation: Any = root
    for part in loc:
        model = _model_class(annotation)
        if model is not None and isinstance(part, str) and part in model.model_fields:
            annotation = model.model_fields[part].annotation
            continue
        item = _item_annotation(annotation)
        if item is None:
            return None
        annotation = item
    return _model_class(annotation)


Hints = Callable[[dict, tuple], "str | None"]


def _unknown_field(root: type[BaseModel], loc: tuple) -> str:
    key = str(loc[-1])
    model = model_at(root, loc[:-1])
    if model is None:
        return f"unknown field '{key}'"
    allowed = list(model.model_fields)
    close = suggest(key, allowed)
    if close:
        return f"unknown field '{key}'; did you mean '{close}'?"
    return f"unknown field '{key}'; allowed fields: {', '.join(allowed)}"


_BOUNDS = {"greater_than": ("greater than", "gt"), "greater_than_equal": ("at least", "ge"),
           "less_than": ("less than", "lt"), "less_than_equal": ("at most", "le")}


def describe(err: dict, loc: tuple, root: type[BaseModel]) -> str:
    """One user-facing sentence for one pydantic error dict at ``loc`` (pydantic's text is never used)."""
    kind, ctx, value = err["type"], err.get("ctx") or {}, err.get("input")
    got = f", got {show(value)}"
    if kind == _KIND:
        return err["msg"]
    if kind == "value_error":
        inner = ctx.get("error")
        if isinstance(inner, UserError):
            return inner.message
        return str(inner if inner is not None else err["msg"]).removeprefix("Value error, ")
    if kind == "extra_forbidden":
        return _unknown_field(root, loc)
    if kind == "missing":
        return "is required"
    if kind in ("float_type", "float_parsing"):
        return "must be a number" + got
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return "must be a whole number (an integer)" + got
    if kind == "finite_number":
        return "must be a finite number" + got
    if kind in ("bool_type", "bool_parsing"):
        return "must be true or false" + got
    if kind in ("string_type", "string_too_short"):
        return "must be text" + got
    if kind == "literal_error":
        options = re.findall(r"'([^']*)'|(\d+)", ctx.get("expected", ""))
        options = [a or b for a, b in options]
        hint = ""
        if isinstance(value, str):
            close = suggest(value, options, cutoff=0.7)
            if close:
                hint = f"; did you mean '{close}'?"
        return f"must be one of {', '.join(repr(o) for o in options)}{got}{hint}"
    if kind in _BOUNDS:
        words, key = _BOUNDS[kind]
        return f"must be {words} {_num(ctx.get(key))}{got}"
    if kind in ("too_short", "too_long"):
        words, key = ("at least", "min_length") if kind == "too_short" else ("at most", "max_length")
        return f"must have {words} {ctx.get(key)} item(s)"
    if kind in ("list_type", "tuple_type"):
        return "must be a list" + got
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return "must be a mapping of fields" + got
    return "is not allowed here" + got


def translate(exc: ValidationError, model: type[BaseModel], *, source: str | None = None,
              lines: dict[str, int] | None = None, error: type[UserError] = UserError,
              hints: Hints | None = None) -> UserError:
    """Turn a pydantic ValidationError of ``model`` into ONE ``error`` (file, line, field path, message): the
    problem that comes first in the file. ``hints(err, loc)`` may return a better message for a case."""
    lines = lines or {}
    found: list[tuple[float, int, UserError]] = []
    for n, err in enumerate(exc.errors()):
        loc = tuple(err["loc"]) + tuple((err.get("ctx") or {}).get(_AT, ()))
        if "[key]" in loc:
            loc = loc[:loc.index("[key]")]
            message = f"names must be text, got {show(err.get('input'))}"
        elif err["type"] == "invalid_key":
            key = err.get("input")
            loc = loc[:-1]
            message = f"field names must be text, got {show(key)}"
            if isinstance(key, bool):
                message += " (YAML reads on/off/yes/no as true/false: quote the name)"
        else:
            message = (hints(err, loc) if hints is not None else None) or describe(err, loc, model)
        field = path_str(loc)
        line = line_of(lines, field) if lines else None
        found.append((line if line is not None else math.inf, n,
                      error(message, file=source, line=line, field=field or None)))
    found.sort(key=lambda x: (x[0], x[1]))
    return found[0][2]


def validate(model: type[BaseModel], data: Any, *, source: str | None = None, lines: dict[str, int] | None = None,
             error: type[UserError] = UserError, context: dict | None = None, hints: Hints | None = None):
    """Validate ``data`` into ``model``; return the instance or raise ONE ``error`` (see :func:`translate`)."""
    try:
        return model.model_validate(data, context=context)
    except ValidationError as exc:
        raise translate(exc, model, source=source, lines=lines, error=error, hints=hints) from None


__all__ = ["YAMLLoader", "load_yaml", "read_yaml_file", "parse_scalar", "validate", "translate", "describe",
           "fail", "suggest", "did_you_mean", "show", "path_str", "line_of", "model_at", "resolve_path"]
