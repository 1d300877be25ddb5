"""The /stats chart: daily activity over 30 days as a PNG, drawn with matplotlib.

matplotlib is imported on first use only (it takes ~0.5 s and ~30 MB; most bots never draw),
with the non-interactive Agg backend, and every drawing runs in a worker thread: an object-
oriented Figure of its own, no pyplot state shared between threads.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Sequence
from dataclasses import dataclass

from bot.storage.dto import DailyActivity

WIDTH_INCHES, HEIGHT_INCHES, DPI = 9.0, 4.0, 110


@dataclass(frozen=True, slots=True)
class ChartLabels:
    title: str
    questions: str
    users: str
    answers: str


async def activity_chart(days: Sequence[DailyActivity], labels: ChartLabels) -> bytes:
    """A PNG of questions, answers and active users per day (off the event loop)."""
    return await asyncio.to_thread(render_activity, list(days), labels)


def render_activity(days: list[DailyActivity], labels: ChartLabels) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(WIDTH_INCHES, HEIGHT_INCHES), dpi=DPI)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    x = list(range(len(days)))
    axes.bar(x, [d.questions for d in days], color="#9ecae1", label=labels.questions)
    axes.plot(x, [d.answers for d in days], color="#3182bd", marker=".", label=labels.answers)
    users = axes.twinx()
    users.plot(x, [d.users for d in days], color="#e6550d", marker=".", label=labels.users)
    users.set_ylim(bottom=0)
    ticks = x[:: max(1, len(x) // 10)]
    axes.set_xticks(ticks, [days[i].day[5:] for i in ticks])
    axes.set_title(labels.title)
    axes.set_ylim(bottom=0)
    handles = axes.get_legend_handles_labels()
    more = users.get_legend_handles_labels()
    axes.legend(handles[0] + more[0], handles[1] + more[1], loc="upper left")
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
