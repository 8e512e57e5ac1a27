"""``trainmedic`` command line.

Exit codes (``run`` and ``report``):
  0  healthy: no root cause found (or --exit-zero)
  1  root causes found (restricted by --fail-on when given)
  2  usage, configuration or internal error; or no training found to diagnose
  3  the user's script itself failed (the report of what was recorded is still written)
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from .config import ConfigError, Settings, load_settings

EPILOG = """exit codes: 0 healthy, 1 causes found, 2 usage/configuration/internal error or nothing to diagnose,
3 the script itself failed (the report is still written)."""


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="trainmedic", description="Why does my network not learn? "
                                "Diagnose a Keras or PyTorch training and prove the fix.", epilog=EPILOG)
    sub = p.add_subparsers(dest="command", metavar="COMMAND")
    r = sub.add_parser("run", help="run a training script unchanged and diagnose it", epilog=EPILOG,
                       usage="trainmedic run [options] (SCRIPT | -m MODULE) [script arguments ...]")
    r.add_argument("-m", dest="module", help="run a module like python -m")
    r.add_argument("--json", metavar="PATH", help="write the JSON report to PATH ('-' for stdout)")
    r.add_argument("--html", metavar="PATH", help="write the HTML report to PATH")
    r.add_argument("--save", metavar="DIR", help="save the recording to DIR (default .trainmedic)")
    r.add_argument("--no-save", action="store_true", help="do not save the recording")
    r.add_argument("--stop-when-diagnosed", action="store_true", default=None,
                   help="end the training as soon as a confident diagnosis exists")
    r.add_argument("--max-seconds", type=float, metavar="N", help="stop the training after N seconds")
    r.add_argument("--select", metavar="CODES", help="only these rule codes (comma-separated, prefixes allowed)")
    r.add_argument("--ignore", metavar="CODES", help="skip these rule codes")
    r.add_argument("--fail-on", metavar="IDS", help="exit 1 only for these cause ids or rule codes")
    r.add_argument("--exit-zero", action="store_true", default=None, help="exit 0 even when causes are found")
    r.add_argument("--no-fix-trials", action="store_true", help="do not try the fixes")
    r.add_argument("--quiet", "-q", action="store_true", default=None, help="no terminal report")
    r.add_argument("script", nargs="?", help="the training script")
    r.add_argument("args", nargs=argparse.REMAINDER, help="arguments passed to the script")
    rep = sub.add_parser("report", help="re-judge and re-render a saved recording", epilog=EPILOG)
    rep.add_argument("directory", help="a recording directory (or recording.json)")
    rep.add_argument("--format", choices=("text", "json", "html"), default="text")
    rep.add_argument("--output", "-o", metavar="PATH", help="write to PATH instead of stdout")
    rep.add_argument("--select", metavar="CODES")
    rep.add_argument("--ignore", metavar="CODES")
    rules = sub.add_parser("rules", help="list the rules")
    rules.add_argument("--json", action="store_true")
    one = sub.add_parser("rule", help="print one rule's documentation")
    one.add_argument("code", help="rule code (TM101) or name")
    causes = sub.add_parser("causes", help="list the cause ids")
    causes.add_argument("--json", action="store_true")
    return p


def _split(value: str | None) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()] if value else []


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = _parser()
    # everything after the script name belongs to the script, even options
    args = _parse_run(parser, argv) if argv[:1] == ["run"] else parser.parse_args(argv)
    if args is None:
        return 2
    try:
        if args.command == "run":
            return _run(args)
        if args.command == "report":
            return _report(args)
        if args.command == "rules":
            return _rules(args)
        if args.command == "rule":
            return _rule(args)
        if args.command == "causes":
            return _causes(args)
    except ConfigError as e:
        print(f"trainmedic: configuration error: {e}", file=sys.stderr)
        return 2
    parser.print_help()
    return 2


def _parse_run(parser: argparse.ArgumentParser, argv: list[str]):
    """Split ``run`` options from the script and its own arguments (which may look like options)."""
    run_opts: list[str] = []
    rest = argv[1:]
    takes_value = {"-m", "--json", "--html", "--save", "--max-seconds", "--select", "--ignore", "--fail-on"}
    i = 0
    while i < len(rest):
        a = rest[i]
        if a == "-m":
            run_opts += rest[i:i + 2]
            i += 2
            break
        if a.startswith("-") and a != "-":
            run_opts.append(a)
            if a in takes_value and "=" not in a:
                run_opts.append(rest[i + 1] if i + 1 < len(rest) else "")
                i += 1
            i += 1
            continue
        break
    script_and_args = rest[i:]
    try:
        args = parser.parse_args(["run", *run_opts])
    except SystemExit:
        return None
    if args.module:
        args.script, args.args = None, script_and_args
    else:
        if not script_and_args:
            print("trainmedic run: give a script (trainmedic run train.py) or -m MODULE", file=sys.stderr)
            return None
        args.script, args.args = script_and_args[0], script_and_args[1:]
    return args


def _settings_from(args) -> Settings:
    s = load_settings()
    for name in ("json", "html", "max_seconds"):
        v = getattr(args, name, None)
        if v is not None:
            setattr(s, name, v)
    for name in ("stop_when_diagnosed", "exit_zero", "quiet"):
        if getattr(args, name, None):
            setattr(s, name, True)
    if args.save:
        s.save = args.save
    if args.no_save:
        s.save = ""
    if args.no_fix_trials:
        s.fix_trials = False
    for name in ("select", "ignore", "fail_on"):
        v = getattr(args, name, None)
        if v:
            setattr(s, name, _split(v))
    return s


def _run(args) -> int:
    from .runner import EXIT_USAGE, Runner

    settings = _settings_from(args)
    if not args.module:
        path = Path(args.script)
        if not path.is_file():
            print(f"trainmedic run: no such script: {args.script}", file=sys.stderr)
            return EXIT_USAGE
        try:
            compile(path.read_bytes(), str(path), "exec")
        except SyntaxError as e:
            print(f"trainmedic run: {args.script} has a syntax error: line {e.lineno}: {e.msg}", file=sys.stderr)
            return EXIT_USAGE
    else:
        import importlib.util

        sys.path.insert(0, os.getcwd())
        try:
            found = importlib.util.find_spec(args.module)
        except (ImportError, ValueError):
            found = None
        finally:
            sys.path.pop(0)
        if found is None:
            print(f"trainmedic run: no module named {args.module}", file=sys.stderr)
            return EXIT_USAGE
    runner = Runner(settings)
    result = runner.run(args.module or args.script, list(args.args or []), module=bool(args.module))
    d = result.diagnosis
    _emit(d, settings)
    return result.exit_code


def _emit(d, settings: Settings) -> None:
    if settings.save:
        try:
            d.recording.save(settings.save)
        except Exception as e:
            print(f"trainmedic: could not save the recording to {settings.save}: {e}", file=sys.stderr)
    if settings.json:
        text = d.to_json()
        if settings.json == "-":
            print(text)
        else:
            Path(settings.json).parent.mkdir(parents=True, exist_ok=True)
            Path(settings.json).write_text(text + "\n")
    if settings.html:
        try:
            from ..report.html import write_html

            write_html(d, settings.html)
        except ImportError:
            print("trainmedic: the HTML report is not available in this version", file=sys.stderr)
    if not settings.quiet and settings.json != "-":
        color = settings.color if settings.color is not None else sys.stdout.isatty()
        print("\n" + d.render(color=color), end="")


def _report(args) -> int:
    from ..engine import judge
    from ..recording import Recording

    path = Path(args.directory)
    if not path.exists():
        print(f"trainmedic report: no such recording: {path}", file=sys.stderr)
        return 2
    try:
        rec = Recording.load(path)
    except Exception as e:
        print(f"trainmedic report: cannot read {path}: {e}", file=sys.stderr)
        return 2
    d = judge(rec, _split(args.select), _split(args.ignore), error=rec.run.get("script_error"))
    if args.format == "json":
        text = d.to_json()
    elif args.format == "html":
        from ..report.html import render_html

        text = render_html(d)
    else:
        text = d.render(color=args.output is None and sys.stdout.isatty())
    if args.output:
        Path(args.output).write_text(text)
    else:
        print(text, end="" if text.endswith("\n") else "\n")
    return 1 if d.status == "unhealthy" else (0 if d.status == "healthy" else 2)


def _rules(args) -> int:
    from ..rules import all_rules

    rs = all_rules()
    if args.json:
        print(json.dumps([{"code": r.code, "name": r.name, "causes": list(r.causes), "phase": r.phase,
                           "summary": r.summary} for r in rs], indent=2))
        return 0
    for r in rs:
        print(f"{r.code}  {r.name:40s} {r.phase:10s} {', '.join(r.causes)}")
    return 0


def _rule(args) -> int:
    from ..rules import get_rule

    try:
        print(get_rule(args.code).render_doc(), end="")
    except KeyError:
        print(f"trainmedic rule: no rule {args.code!r} (see `trainmedic rules`)", file=sys.stderr)
        return 2
    return 0


def _causes(args) -> int:
    from ..causes import CAUSES

    if args.json:
        print(json.dumps([{"id": c.id, "title": c.title, "why": c.why, "fixes": list(c.fixes)}
                          for c in CAUSES.values()], indent=2))
        return 0
    for c in CAUSES.values():
        print(f"{c.id:28s} {c.title}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
