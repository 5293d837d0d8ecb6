"""mkdocs hook that writes the reference parts of the docs from the installed package.

- ``<!-- fnp-coverage -->`` becomes the list of functions fnflow.numpy provides now
  and the common NumPy functions it still lacks;
- ``::: dotted.name`` on its own line becomes a heading, the signature and the
  docstring of that object (imported at build time, so namespace subpackages and
  re-exports resolve exactly as they do for users); ``:::: dotted.name`` does
  the same one heading level deeper;
- ``::: dotted.module.*`` renders every public callable of the module (its
  ``__all__``, in order) that the page has not rendered yet; a name bound to an
  object rendered earlier in the same listing becomes a one-line alias note.

Both are computed when the site is built, so the API page never goes stale.
"""

import importlib
import inspect
import re

import numpy as np

MARKER = "<!-- fnp-coverage -->"

# NumPy functions users reach for most often; the page lists which of them are still missing.
COMMON = """
abs absolute add all allclose amax amin any append arange arccos arccosh arcsin arcsinh arctan arctan2 arctanh
argmax argmin argsort argwhere around array array_equal array_split asarray atleast_1d atleast_2d atleast_3d
average bincount broadcast_arrays broadcast_to cbrt ceil choose clip column_stack concatenate conj convolve copy
corrcoef cos cosh count_nonzero cov cross cumprod cumsum deg2rad diag diag_indices diagonal diff digitize divide
dot dsplit dstack einsum empty empty_like equal exp exp2 expand_dims expm1 eye flatnonzero flip fliplr flipud
floor floor_divide fmax fmin fmod full full_like gradient greater greater_equal heaviside histogram hsplit hstack
hypot identity indices inner interp isclose isfinite isin isinf isnan kron ldexp less less_equal linspace log
log10 log1p log2 logaddexp logical_and logical_not logical_or logical_xor logspace matmul max maximum mean median
meshgrid min minimum mod moveaxis multiply nan_to_num nanargmax nanargmin nancumsum nanmax nanmean nanmin nanprod
nanstd nansum nanvar negative nonzero not_equal ones ones_like outer pad percentile polyval power prod ptp
put_along_axis quantile rad2deg ravel reciprocal remainder repeat reshape roll rot90 round searchsorted select
sign sin sinc sinh sort split sqrt square squeeze stack std subtract sum swapaxes take take_along_axis tan tanh
tensordot tile trace transpose trapezoid tri tril triu true_divide trunc unique unravel_index vander var vdot
vsplit vstack where zeros zeros_like
""".split()


# Modules whose functions are fnflow's internals re-exported by accident, not NumPy API.
INTERNAL_MODULES = ("fnflow.ops._util", "fnflow.core", "typing")


def _functions(module):
    """Public functions of ``module``: its ``__all__`` if it has one, else its callables minus internals."""
    names = getattr(module, "__all__", None) or [n for n in dir(module) if not n.startswith("_")]
    out = []
    for name in names:
        obj = getattr(module, name, None)
        if not callable(obj) or isinstance(obj, (type, np.generic)):
            continue
        if (getattr(obj, "__module__", None) or "").startswith(INTERNAL_MODULES):
            continue
        out.append(name)
    return sorted(out)


def _table(names, cols=6):
    rows = [names[i:i + cols] for i in range(0, len(names), cols)]
    out = ["|" + " |" * cols, "|" + "---|" * cols]
    for r in rows:
        r = r + [""] * (cols - len(r))
        out.append("| " + " | ".join(f"`{n}`" if n else "" for n in r) + " |")
    return "\n".join(out)


def coverage_markdown():
    import fnflow.numpy as fnp
    import fnflow.numpy.linalg as fla

    provided = _functions(fnp)
    have = set(provided)
    missing = [n for n in COMMON if n not in have]
    linalg = _functions(fla)
    parts = [f"`fnflow.numpy` provides **{len(provided)}** functions today:", "", _table(provided), ""]
    if linalg:
        parts += [f"`fnflow.numpy.linalg` provides {len(linalg)}: " + ", ".join(f"`{n}`" for n in linalg) + ".", ""]
    if missing:
        parts += ["Common NumPy functions **not yet** in `fnflow.numpy`: "
                  + ", ".join(f"`{n}`" for n in missing) + ".", ""]
    return "\n".join(parts)


def _resolve(dotted):
    """Import ``a.b.c`` as the longest importable module prefix plus attribute lookups."""
    parts = dotted.split(".")
    for i in range(len(parts), 0, -1):
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        for attr in parts[i:]:
            obj = getattr(obj, attr)
        return obj
    raise ImportError(f"docs: cannot import {dotted!r}")


_ROLE = re.compile(r":(?:func|class|mod|meth|attr|data|obj):`~?([^`]+)`")


def _docstring_markdown(doc):
    """fnflow docstrings are prose with RST-style ``code``; make them Markdown."""
    lines = inspect.cleandoc(doc).splitlines()
    out, i = [], 0
    while i < len(lines):
        line = lines[i]
        if line.lstrip().startswith(">>>"):  # a doctest: fence it (a bare ">>>" would be a quote)
            block = []
            while i < len(lines) and lines[i].strip():
                block.append(lines[i].strip() if not lines[i].startswith("    ") else lines[i])
                i += 1
            out += ["```pycon", *block, "```"]
            continue
        if line.rstrip().endswith("::") and not line.strip().startswith(".."):  # RST literal block
            out.append(line.rstrip()[:-1] if not line.rstrip().endswith(" ::") else line.rstrip()[:-3])
            i += 1
            while i < len(lines) and not lines[i].strip():
                i += 1
            block = []
            while i < len(lines) and (not lines[i].strip() or lines[i].startswith((" ", "\t"))):
                block.append(lines[i])
                i += 1
            while block and not block[-1].strip():
                block.pop()
            out += ["", "```python", *inspect.cleandoc("\n".join(block)).splitlines(), "```", ""]
            continue
        out.append(line)
        i += 1
    text = "\n".join(out)
    return _ROLE.sub(lambda m: f"`{m.group(1)}`", text)


def _signature(obj, name):
    target = obj.__init__ if inspect.isclass(obj) else obj
    try:
        sig = inspect.signature(target)
        # annotations are strings under `from __future__ import annotations`; the prose says the types
        sig = str(sig.replace(parameters=[q.replace(annotation=q.empty) for q in sig.parameters.values()],
                              return_annotation=sig.empty))
    except (TypeError, ValueError):
        return name + "(...)"
    if inspect.isclass(obj):
        sig = sig.replace("(self, ", "(").replace("(self)", "()")
    return name + sig


def api_markdown(dotted, level=3, obj=None):
    obj = _resolve(dotted) if obj is None else obj
    doc = inspect.getdoc(obj) or "*No docstring yet.*"
    return "\n".join([f"{'#' * level} `{dotted}` {{ #{dotted} }}", "", "```python", _signature(obj, dotted), "```",
                       "", _docstring_markdown(doc), ""])


def members_markdown(module_name, level, seen):
    """Every public callable of ``module_name`` not yet on the page (``seen``: id(obj) -> anchor)."""
    module = importlib.import_module(module_name)
    names = getattr(module, "__all__", None) or [n for n in dir(module) if not n.startswith("_")]
    before = dict(seen)
    out = []
    for name in names:
        obj = getattr(module, name, None)
        if not callable(obj) or inspect.ismodule(obj) or id(obj) in before:
            continue
        if (getattr(obj, "__module__", None) or "").startswith(INTERNAL_MODULES):
            continue
        dotted = f"{module_name}.{name}"
        if id(obj) in seen:  # an alias of an entry of this listing
            first = seen[id(obj)]
            out.append(f"`{dotted}` is an alias of [`{first.rsplit('.', 1)[-1]}`](#{first}).\n")
            continue
        seen[id(obj)] = dotted
        out.append(api_markdown(dotted, level, obj))
    return "\n".join(out)


_DIRECTIVE = re.compile(r"^(:{3,4}) *([\w.]+?)(\.\*)? *$", re.M)


def on_page_markdown(markdown, page, config, files):
    if MARKER in markdown:
        markdown = markdown.replace(MARKER, coverage_markdown())
    seen = {}

    def render(m):
        level = len(m.group(1))
        if m.group(3):
            return members_markdown(m.group(2), level, seen)
        obj = _resolve(m.group(2))
        seen.setdefault(id(obj), m.group(2))
        return api_markdown(m.group(2), level, obj)

    return _DIRECTIVE.sub(render, markdown)
