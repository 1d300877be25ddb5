"""``python -m bench pdf``: PDF text throughput of the worker pool, and pypdfium2 vs pypdf.

The default run reads a 200-page text PDF through :class:`bot.documents.worker.DocumentWorker`
(cold once, then ``--runs`` times warm) while a ticker task measures how late the event loop
wakes it up: the PDF work must never stall the bot (target: worst delay under 20 ms).
``--compare`` extracts the same PDFs in-process with pypdfium2 (as the worker does) and pypdf,
and scores speed and text quality against the text the PDFs were made from.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import re
import statistics
import sys
import tempfile
import textwrap
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from difflib import SequenceMatcher
from itertools import zip_longest
from pathlib import Path

from fpdf import FPDF
from pypdf import PdfReader

from bot.documents.pdf import pdf_info, pdf_page_texts
from bot.documents.worker import DocumentWorker
from tests import docfiles

LAG_TARGET_MS = 20.0
TICK = 0.005
DEJAVU = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
EXIT_LAG_OVER_TARGET = 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench pdf",
        description="PDF text extraction in the worker pool: pages per second and the event "
        "loop's worst delay; --compare: pypdfium2 vs pypdf on speed and text quality.",
    )
    parser.add_argument("--runs", type=int, default=5, help="warm runs (default 5)")
    parser.add_argument("--pages", type=int, default=200, help="pages of the test PDF")
    parser.add_argument("--workers", type=int, default=1, help="worker processes")
    parser.add_argument("--chunk-pages", type=int, default=25, help="pages per pool job")
    parser.add_argument(
        "--compare", action="store_true", help="compare pypdfium2 and pypdf instead"
    )
    parser.add_argument(
        "--files",
        type=Path,
        nargs="+",
        default=[],
        metavar="PDF",
        help="with --compare: also time both libraries on these real PDFs (no known text: "
        "the table shows how much of their words the two agree on)",
    )
    return parser


class LagMeter:
    """Sleeps ``TICK`` seconds in a loop and remembers the worst lateness of a wake-up."""

    def __init__(self) -> None:
        self.worst = 0.0

    def reset(self) -> None:
        self.worst = 0.0

    async def run(self) -> None:
        while True:
            started = time.perf_counter()
            await asyncio.sleep(TICK)
            self.worst = max(self.worst, time.perf_counter() - started - TICK)


@dataclass(frozen=True)
class Timed:
    seconds: float
    lag_ms: float


async def _timed_read(worker: DocumentWorker, path: Path, pages: int, meter: LagMeter) -> Timed:
    meter.reset()
    started = time.perf_counter()
    result = await worker.pdf_text(path, max_pages=pages)
    elapsed = time.perf_counter() - started
    if result.pages_read != pages:
        raise RuntimeError(f"read {result.pages_read} pages instead of {pages}")
    return Timed(elapsed, meter.worst * 1000)


async def measure_worker(args: argparse.Namespace, path: Path) -> tuple[Timed, list[Timed]]:
    """One cold read (new pool), then ``args.runs`` warm reads, all under the lag meter."""
    meter = LagMeter()
    ticker = asyncio.create_task(meter.run())
    worker = DocumentWorker(workers=args.workers, chunk_pages=args.chunk_pages)
    try:
        await asyncio.sleep(0.05)  # let the ticker start
        cold = await _timed_read(worker, path, args.pages, meter)
        warm = [await _timed_read(worker, path, args.pages, meter) for _ in range(args.runs)]
    finally:
        await worker.close()
        ticker.cancel()
    return cold, warm


def run_worker_bench(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="bench-pdf-") as folder:
        path = Path(folder) / "report.pdf"
        path.write_bytes(docfiles.text_pdf(args.pages, marker="BENCH"))
        size_kb = path.stat().st_size / 1024
        cold, warm = asyncio.run(measure_worker(args, path))
    rates = [args.pages / run.seconds for run in warm]
    worst_lag = max([cold.lag_ms, *(run.lag_ms for run in warm)])
    print(
        f"PDF text via DocumentWorker: {args.pages} pages ({size_kb:.0f} KB), "
        f"{args.workers} worker(s), {args.chunk_pages} pages per job"
    )
    print("| run | time s | pages/s | worst loop delay ms |")
    print("|---|---|---|---|")
    print(
        f"| cold (new pool) | {cold.seconds:.3f} | {args.pages / cold.seconds:.0f} "
        f"| {cold.lag_ms:.1f} |"
    )
    print(
        f"| warm, median of {len(warm)} | {statistics.median(r.seconds for r in warm):.3f} "
        f"| {statistics.median(rates):.0f} (min {min(rates):.0f}, max {max(rates):.0f}) "
        f"| {max(r.lag_ms for r in warm):.1f} |"
    )
    verdict = "OK" if worst_lag < LAG_TARGET_MS else "OVER TARGET"
    print(f"worst event-loop delay: {worst_lag:.1f} ms (target < {LAG_TARGET_MS:g} ms): {verdict}")
    return 0 if worst_lag < LAG_TARGET_MS else EXIT_LAG_OVER_TARGET


# --- comparison -------------------------------------------------------------------------------

RUSSIAN = (
    "Выручка за третий квартал составила {n} миллионов рублей, что на {p} процентов больше. ",
    "Северный склад отгрузил {n} паллет за {m} дней без единой потери. ",
    "Совет директоров утвердил бюджет в {n} тысяч рублей на новую программу обучения. ",
    "Среднее время доставки в южном регионе сократилось до {m} дней. ",
    "Аудит выявил {m} незначительных замечаний и ни одного существенного нарушения. ",
)


@dataclass(frozen=True)
class Sample:
    """A PDF and, per page, the text it was made from (in reading order)."""

    name: str
    data: bytes
    pages: list[str]


def _fpdf(font: str = "helvetica") -> FPDF:
    pdf = FPDF(format="A4")
    pdf.set_creation_date(docfiles.FIXED_DATE)
    if font != "helvetica":
        pdf.add_font(font, fname=str(DEJAVU))
    pdf.set_font(font, size=10)
    return pdf


def paragraphs_sample(pages: int) -> Sample:
    contents = docfiles.text_page_contents(pages, marker="PARA")
    pdf = _fpdf()
    for content in contents:  # fpdf2's own wrapping, unlike docfiles.text_pdf
        pdf.add_page()
        pdf.multi_cell(0, 5, content, align="J")
    return Sample("justified paragraphs", bytes(pdf.output()), contents)


def columns_sample(pages: int, *, line_by_line: bool = False) -> Sample:
    """Two columns per page, written column after column or (as some producers do) one
    line of each column in turn; the reading order is the left column, then the right."""
    rng = random.Random(7)
    pdf = _fpdf()
    sources: list[str] = []
    for _ in range(pages):
        left, right = docfiles.report_words(160, rng), docfiles.report_words(160, rng)
        sources.append(f"{left} {right}")
        pdf.add_page()
        if line_by_line:
            rows = zip_longest(textwrap.wrap(left, 48), textwrap.wrap(right, 48), fillvalue="")
            for row, (left_line, right_line) in enumerate(rows):
                pdf.text(10, 15 + 5 * row, left_line)
                pdf.text(110, 15 + 5 * row, right_line)
        else:
            pdf.set_xy(10, 15)
            pdf.multi_cell(90, 5, left)
            pdf.set_xy(110, 15)
            pdf.multi_cell(90, 5, right)
    name = "two columns, line by line" if line_by_line else "two columns"
    return Sample(name, bytes(pdf.output()), sources)


def table_sample(pages: int) -> Sample:
    rng = random.Random(11)
    regions = ("North", "South", "East", "West", "Central")
    items = ("Bolts M8", "Copper wire", "Steel sheet", "Gaskets", "Valves DN50", "Pumps")
    pdf = _fpdf()
    sources: list[str] = []
    for page in range(pages):
        rows = [("Item", "Region", "Quantity", "Unit price", "Total")]
        for _ in range(40):
            quantity, price = rng.randint(1, 900), rng.randint(2, 500)
            rows.append(
                (
                    rng.choice(items),
                    rng.choice(regions),
                    str(quantity),
                    f"{price}.00",
                    f"{quantity * price}.00",
                )
            )
        pdf.add_page()
        pdf.cell(0, 8, f"Stock movements, sheet {page + 1}", new_x="LMARGIN", new_y="NEXT")
        with pdf.table(rows, line_height=5):
            pass
        sources.append(f"Stock movements, sheet {page + 1} " + " ".join(" ".join(r) for r in rows))
    return Sample("table", bytes(pdf.output()), sources)


def russian_sample(pages: int) -> Sample:
    rng = random.Random(5)
    pdf = _fpdf("DejaVu")
    sources: list[str] = []
    for page in range(pages):
        text = (
            f"Страница {page + 1}. "
            + "".join(
                rng.choice(RUSSIAN).format(
                    n=rng.randint(10, 9999), m=rng.randint(2, 60), p=rng.randint(2, 95)
                )
                for _ in range(22)
            ).strip()
        )
        pdf.add_page()
        pdf.multi_cell(0, 5, text)
        sources.append(text)
    return Sample("russian (DejaVu)", bytes(pdf.output()), sources)


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def quality(sources: list[str], extracted: list[str]) -> tuple[float, float]:
    """Word recall (bag of words) and reading-order ratio (difflib on word sequences)."""
    recall_hits = total = 0
    ratios: list[float] = []
    for source, got in zip(sources, extracted, strict=True):
        want, have = _words(source), _words(got)
        recall_hits += sum((Counter(want) & Counter(have)).values())
        total += len(want)
        ratios.append(SequenceMatcher(None, want, have, autojunk=False).ratio())
    return recall_hits / max(total, 1), statistics.mean(ratios)


def pdfium_texts(path: str) -> list[str]:
    return pdf_page_texts(path, 0, pdf_info(path).pages)


def pypdf_texts(path: str) -> list[str]:
    return [page.extract_text() for page in PdfReader(path).pages]


def speed(
    extract: Callable[[str], list[str]], path: str, repeats: int = 3
) -> tuple[float, list[str]]:
    """Median pages per second over ``repeats`` extractions, and the last result."""
    times: list[float] = []
    texts: list[str] = []
    for _ in range(repeats):
        started = time.perf_counter()
        texts = extract(path)
        times.append(time.perf_counter() - started)
    return len(texts) / statistics.median(times), texts


def build_samples() -> list[Sample]:
    text = docfiles.text_page_contents(200, marker="BENCH")
    samples = [
        Sample("report 200 p", docfiles.text_pdf(200, marker="BENCH"), text),
        paragraphs_sample(20),
        columns_sample(20),
        columns_sample(20, line_by_line=True),
        table_sample(20),
    ]
    if DEJAVU.exists():
        samples.append(russian_sample(20))
    else:
        print(f"note: {DEJAVU} not found, the Russian sample is skipped")
    return samples


def run_compare(files: list[Path]) -> int:
    extractors = {"pypdfium2": pdfium_texts, "pypdf": pypdf_texts}
    print("| document | pages | library | pages/s | word recall | order ratio |")
    print("|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory(prefix="bench-pdf-") as folder:
        for sample in build_samples():
            path = Path(folder) / "sample.pdf"
            path.write_bytes(sample.data)
            for library, extract in extractors.items():
                rate, texts = speed(extract, str(path))
                recall, order = quality(sample.pages, texts)
                print(
                    f"| {sample.name} | {len(sample.pages)} | {library} | {rate:.0f} "
                    f"| {recall:.3f} | {order:.3f} |"
                )
    print(
        "word recall: share of the source's words found; order ratio: difflib ratio of the "
        "word sequences (1.0 = same words in the same order)"
    )
    if files:
        compare_files(files)
    return 0


def compare_files(files: list[Path]) -> None:
    print("\n| file | pages | pypdfium2 pages/s | pypdf pages/s | words in common |")
    print("|---|---|---|---|---|")
    for path in files:
        try:
            fast, ours = speed(pdfium_texts, str(path))
            slow, theirs = speed(pypdf_texts, str(path))
        except Exception as exc:  # a bench over arbitrary files reports and goes on
            print(f"| {path.name} | - | {type(exc).__name__}: {exc} | | |")
            continue
        mine, other = Counter(_words(" ".join(ours))), Counter(_words(" ".join(theirs)))
        common = sum((mine & other).values()) / max(mine.total(), other.total(), 1)
        print(f"| {path.name} | {len(ours)} | {fast:.0f} | {slow:.0f} | {common:.3f} |")


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    if args.runs < 1 or args.pages < 1 or args.workers < 1 or args.chunk_pages < 1:
        print("--runs, --pages, --workers and --chunk-pages must be positive", file=sys.stderr)
        return 2
    return run_compare(args.files) if args.compare else run_worker_bench(args)
