"""``python -m bookbuild``: the commands of the Makefile and ``format`` (see the package docstring)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import bookbuild
from bookbuild.environment import environment_file
from bookbuild.execution import execute, prepare
from bookbuild.formatting import LINE_LENGTH, describe, format_chapters
from bookbuild.sitecheck import check_site, external_scripts, stderr_outputs, unsubstituted_names
from bookbuild.sources import MODES, ROOT, ChapterError
from bookbuild.timings import record_timings
from bookbuild.website import html


def _key_values(items: list[str]) -> dict:
    import ast

    out = {}
    for item in items:
        key, _, value = item.partition("=")
        try:
            out[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            out[key] = value
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bookbuild", description=bookbuild.__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("execute", "prepare"):
        p = sub.add_parser(name)
        p.add_argument("--mode", choices=MODES, default="full")
        p.add_argument("--out", type=Path, default=ROOT / "_build" / ("src" if name == "execute" else "nbval"))
        p.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                       help="another parameter of the chapters, e.g. SEED=1")
        if name == "execute":
            p.add_argument("--only", action="append", help="execute only this chapter (file stem)")
            p.add_argument("--jobs", type=int, help="worker processes for the fits planned before the chapters "
                                                    "run (default $NODEBIO_JOBS, else 1: no plan)")
    p = sub.add_parser("html")
    p.add_argument("--src", type=Path, default=ROOT / "_build" / "src")
    sub.add_parser("environment-file")
    p = sub.add_parser("time", help="execute every chapter and record its seconds in book/_timings/")
    p.add_argument("--mode", choices=MODES, default="quick")
    p.add_argument("--label", help="name of the machine in the file name (default: from the hardware)")
    p.add_argument("--note", default="", help="a remark stored with the timings, e.g. 'shared machine'")
    p.add_argument("--param", action="append", default=[], metavar="NAME=VALUE")
    p.add_argument("--only", action="append", help="time only this chapter (file stem; repeatable)")
    p.add_argument("--jobs", type=int, help="worker processes for the book's fit plan, run first and timed "
                                            "(default $NODEBIO_JOBS, else 1: no plan)")
    p = sub.add_parser("check-site", help="check the internal links and images of the built HTML, names "
                                          "left in its prose instead of their values, outputs on stderr "
                                          "and scripts from other hosts")
    p.add_argument("--site", type=Path, default=ROOT / "_build" / "html")
    p = sub.add_parser("format", help=f"format the chapters' code cells with black ({LINE_LENGTH} columns)")
    p.add_argument("files", nargs="*", type=Path, help="chapter sources (default: every chapter of _toc.yml)")
    p.add_argument("--check", action="store_true", help="write nothing; exit 1 naming the unformatted cells")
    args = parser.parse_args(argv)
    try:
        if args.command == "execute":
            execute(args.mode, args.out, _key_values(args.param), args.only, jobs=args.jobs)
        elif args.command == "prepare":
            for path in prepare(args.mode, args.out, _key_values(args.param)):
                print(f"[bookbuild] prepared {path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}")
        elif args.command == "html":
            print(f"[bookbuild] HTML in {html(args.src)}")
        elif args.command == "time":
            path = record_timings(args.mode, args.label, args.note, _key_values(args.param), only=args.only,
                                  jobs=args.jobs)
            print(f"[bookbuild] timings written to {path}")
        elif args.command == "check-site":
            problems = check_site(args.site)
            names = unsubstituted_names(args.site)
            stderr, external = stderr_outputs(args.site), external_scripts(args.site)
            for problem in problems + names + stderr + external:
                print(problem)
            print(f"[bookbuild] {len(problems)} broken internal links or images, {len(names)} names left "
                  f"in the prose, {len(stderr)} outputs on stderr, {len(external)} scripts from other hosts "
                  f"in {args.site}")
            return 1 if problems or names or stderr or external else 0
        elif args.command == "format":
            changes, long = format_chapters(args.files, check=args.check)
            for line in describe(changes, args.check) + long:
                print(line)
            if args.check and changes:
                print("[bookbuild] run `python -m bookbuild format` to format them", file=sys.stderr)
            return 1 if (args.check and changes) or long else 0
        else:
            environment_file()
    except (ChapterError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    return 0

