"""Keras 3's progress bar (``keras.utils.Progbar``), readable in log files.

On a real terminal (or in a notebook) it is redrawn in place with carriage
returns, in Keras 3's format::

    32/32 ━━━━━━━━━━━━━━━━━━━━ 1s 3ms/step - accuracy: 0.5000 - loss: 0.6931

When stdout is not a terminal (a pipe, a log file, a captured stream) only the
final line of each bar is written, without control characters, so a log has
exactly one line per epoch. ``verbose=2`` writes one short line per epoch:
``32/32 - 1s - 3ms/step - accuracy: 0.5000 - loss: 0.6931``.
"""

from __future__ import annotations

import math
import os
import sys
import time

import numpy as np


def _is_dynamic(stream) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        if isatty is not None and isatty():
            return True
    except ValueError:  # closed stream
        return False
    return "ipykernel" in sys.modules or "PYCHARM_HOSTED" in os.environ


def format_value(v) -> str:
    """Keras's number format: 4 decimals, scientific notation for magnitudes up to 1e-3."""
    v = float(np.mean(v))
    return f"{v:.4f}" if abs(v) > 1e-3 else f"{v:.4e}"


def format_time(time_per_unit, unit_name) -> str:
    if time_per_unit >= 1 or time_per_unit == 0:
        return f" {time_per_unit:.0f}s/{unit_name}"
    if time_per_unit >= 1e-3:
        return f" {time_per_unit * 1e3:.0f}ms/{unit_name}"
    return f" {time_per_unit * 1e6:.0f}us/{unit_name}"


class Progbar:
    """A progress bar: ``update(current, values=[(name, value), ...], finalize=None)``.

    ``target``: the number of steps (None if unknown); ``verbose``: 0 silent, 1
    bar, 2 one line at the end. Values named in ``stateful_metrics`` are shown
    as given; others are averaged over the steps (as Keras).
    """

    def __init__(self, target, width=20, verbose=1, interval=0.05, stateful_metrics=None, unit_name="step",
                 stream=None):
        self.target = target
        self.width = width
        self.verbose = verbose
        self.interval = interval
        self.unit_name = unit_name
        self.stateful_metrics = set(stateful_metrics or ())
        self.stream = stream
        self._dynamic = _is_dynamic(self._out())
        self._values = {}
        self._order = []
        self._seen = 0
        self._start = time.time()
        self._last_update = 0.0
        self._time_after_first = None
        self._prev_width = 0

    def _out(self):
        return self.stream if self.stream is not None else sys.stdout

    def _write(self, text):
        out = self._out()
        out.write(text)
        out.flush()

    def _step_time(self, current, now):
        if not current:
            return 0.0
        if self._time_after_first is not None and current > 1:
            per = (now - self._time_after_first) / (current - 1)
        else:
            per = (now - self._start) / current
        if current == 1:
            self._time_after_first = now
        return per

    def _metrics_text(self):
        parts = []
        for k in self._order:
            total, count = self._values[k]
            parts.append(f" - {k}: {format_value(total / max(1, count))}")
        return "".join(parts)

    def update(self, current, values=None, finalize=None):
        if finalize is None:
            finalize = self.target is not None and current >= self.target
        for k, v in values or []:
            if k not in self._order:
                self._order.append(k)
            v = v if type(v) is float else float(np.mean(np.asarray(v, dtype=np.float64)))  # fit's logs: floats
            if k in self.stateful_metrics or finalize:
                self._values[k] = [v, 1]
            else:
                n = max(current - self._seen, 1)
                total, count = self._values.get(k, [0.0, 0])
                self._values[k] = [total + v * n, count + n]
        self._seen = current
        now = time.time()
        per = self._step_time(current, now)
        if self.verbose == 1:
            if not finalize and (not self._dynamic or now - self._last_update < self.interval):
                return  # a log file gets only the final line of each bar
            self._write(self._line(current, now, per, finalize))
        elif self.verbose == 2 and finalize and self.target:
            digits = int(math.log10(self.target)) + 1
            line = f"{current:{digits}d}/{self.target} - {now - self._start:.0f}s -{format_time(per, self.unit_name)}"
            self._write(line + self._metrics_text() + "\n")
        self._last_update = now

    def _line(self, current, now, per, finalize):
        dyn = self._dynamic
        bold = (lambda s: f"\x1b[1m{s}\x1b[0m") if dyn else (lambda s: s)
        if self.target is not None and self.target > 0:
            digits = int(math.log10(self.target)) + 1
            count = f"{current:{digits}d}/{self.target}"
            filled = int(self.width * min(current / self.target, 1.0))
            if dyn:
                bar = f"{bold(count)} \x1b[32m{'━' * filled}\x1b[0m\x1b[37m{'━' * (self.width - filled)}\x1b[0m"
            else:
                bar = f"{count} {'━' * self.width}"
            visible = len(count) + 1 + self.width
        else:
            bar = f"{current:7d}/Unknown"
            visible = len(bar)
        if self.target is not None and self.target > 0 and not finalize:
            eta = per * (self.target - current)
            if eta > 3600:
                eta_text = f"{int(eta // 3600)}:{int(eta % 3600 // 60):02d}:{int(eta % 60):02d}"
            elif eta > 60:
                eta_text = f"{int(eta // 60)}:{int(eta % 60):02d}"
            else:
                eta_text = f"{int(eta)}s"
        else:
            eta_text = f"{now - self._start:.0f}s"
        info = f" {bold(eta_text)}{format_time(per, self.unit_name)}{self._metrics_text()}"
        visible += len(f" {eta_text}{format_time(per, self.unit_name)}{self._metrics_text()}")
        text = bar + info
        if dyn:
            pad = " " * max(0, self._prev_width - visible)
            text = "\r" + text + pad
            self._prev_width = visible
        if finalize or not dyn:
            text += "\n"
        return text

    def add(self, n, values=None):
        self.update(self._seen + n, values)
