"""The `newsloom` command: thin commands over tasks.jobs. No business logic here."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from . import __version__
from .errors import NewsloomError
from .settings import Settings, load_settings, settings_markdown

DEMO_TOML = """# Written by `newsloom demo`: the demo newsroom is served on this machine, so the
# fetcher may reach 127.0.0.1 (private and loopback addresses are refused otherwise).
[newsloom]
fetch_allow_networks = ["127.0.0.1/32"]
"""


class Context:
    def __init__(self, settings: Settings):
        self.settings = settings
        self._store = None

    @property
    def store(self):
        if self._store is None:
            from .store import open_store

            self._store = open_store(self.settings.db_url)
        return self._store


def _fail(exc: NewsloomError) -> None:
    click.echo(f"error: {exc.message}", err=True)
    sys.exit(1)


@click.group()
@click.version_option(__version__, prog_name="newsloom")
@click.pass_context
def main(ctx: click.Context) -> None:
    """newsloom: feeds in, stories out."""
    try:
        ctx.obj = Context(load_settings())
    except NewsloomError as exc:
        _fail(exc)


@main.command()
@click.option("--reset", is_flag=True, help="Delete all stored data (keeps the schema).")
@click.pass_obj
def init(obj: Context, reset: bool) -> None:
    """Create the database (or migrate it to the latest schema)."""
    store = obj.store
    if reset:
        store.reset()
    click.echo(f"database ready: {obj.settings.db_url} (schema {store.schema_revision()})")


@main.group()
def feeds() -> None:
    """Add, import, export and list feeds."""


@feeds.command("add")
@click.argument("url")
@click.option("--no-verify", is_flag=True, help="Store the URL without fetching it first.")
@click.pass_obj
def feeds_add(obj: Context, url: str, no_verify: bool) -> None:
    """Add a feed by its URL, or by a web page that links to one."""
    from .tasks.jobs import add_feed

    try:
        feed, created = add_feed(obj.store, obj.settings, url, verify=not no_verify)
    except NewsloomError as exc:
        _fail(exc)
    click.echo(f"{'added' if created else 'already present'}: {feed.id} {feed.url}")


@feeds.command("import")
@click.argument("file", type=click.File("rb"))
@click.pass_obj
def feeds_import(obj: Context, file) -> None:
    """Import feeds from an OPML file."""
    from .tasks.jobs import import_opml

    try:
        report = import_opml(obj.store, file.read())
    except NewsloomError as exc:
        _fail(exc)
    for _, message in report.errors:
        click.echo(message, err=True)
    click.echo(f"imported: {report.added} added, {report.skipped} already present"
               + (f", {len(report.errors)} errors" if report.errors else ""))
    if report.errors and not report.added and not report.skipped:
        sys.exit(1)


@feeds.command("export")
@click.option("-o", "--output", type=click.File("wb"), default="-", help="File to write (default: stdout).")
@click.pass_obj
def feeds_export(obj: Context, output) -> None:
    """Export all feeds as OPML 2.0."""
    from .tasks.jobs import export_feeds_opml

    output.write(export_feeds_opml(obj.store))


@feeds.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
def feeds_list(obj: Context, as_json: bool) -> None:
    """List feeds with their health: last fetch, status, error, next check."""
    from .serve.health import feed_health

    rows = feed_health(obj.store)
    if as_json:
        click.echo(json.dumps(rows, default=str, indent=2))
        return
    for r in rows:
        status = "ERROR" if r["last_error"] else ("ok" if r["last_fetched_at"] else "new")
        last = r["last_fetched_at"].strftime("%Y-%m-%d %H:%M") if r["last_fetched_at"] else "never"
        nxt = r["next_check_at"].strftime("%Y-%m-%d %H:%M") if r["next_check_at"] else "now"
        click.echo(f"{r['id']:>4}  {status:<5}  {r['article_count']:>5} articles  last {last}  next {nxt}  "
                   f"{r['title'] or r['url']}")
        if r["last_error"]:
            click.echo(f"      {r['last_error']}")


@main.command()
@click.option("--all", "all_feeds", is_flag=True, help="Refresh every feed, not only those due.")
@click.option("--feed", "feed_ids", type=int, multiple=True, help="Refresh this feed id (repeatable).")
@click.pass_obj
def refresh(obj: Context, all_feeds: bool, feed_ids: tuple[int, ...]) -> None:
    """Fetch due feeds, extract new articles, cluster them and rebuild their stories' insights."""
    from .tasks.pipeline import refresh as run_refresh, select_feeds

    store, ids = obj.store, feed_ids or None
    todo = len(select_feeds(store, all_feeds=all_feeds, feed_ids=ids))
    with click.progressbar(length=todo, label="refreshing", file=sys.stderr) as bar:
        reports = run_refresh(store, obj.settings, all_feeds=all_feeds, feed_ids=ids,
                              progress=lambda r: bar.update(1))
    new = sum(r.new for r in reports)
    failed = [r for r in reports if r.status == "error"]
    for r in failed:
        click.echo(f"failed: {r.url}: {r.error}", err=True)
    click.echo(f"refreshed {len(reports)} feeds: {new} new articles, {len(failed)} failed")


@main.command("import-jsonl")
@click.argument("file", type=click.File("r", encoding="utf-8"))
@click.pass_obj
def import_jsonl_cmd(obj: Context, file) -> None:
    """Bulk-import articles: one JSON object per line (url, title, text, source, published)."""
    from .tasks.jobs import import_jsonl

    report = import_jsonl(obj.store, file, settings=obj.settings)
    for _, message in report.errors:
        click.echo(message, err=True)
    click.echo(f"imported: {report.added} added, {report.skipped} already present, {len(report.errors)} errors")
    if report.errors and not report.added and not report.skipped:
        sys.exit(1)


@main.command()
@click.option("--host", default=None, help="Bind address (default: NEWSLOOM_HOST).")
@click.option("--port", type=int, default=None, help="Port (default: NEWSLOOM_PORT).")
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True,
              help="Web processes; each builds the app from the NEWSLOOM_* environment.")
@click.option("--scheduler/--no-scheduler", "with_scheduler", default=True, show_default=True,
              help="Run the pipeline in the background: refresh due feeds, cluster, rebuild insights. "
                   "Turn it off when `newsloom worker` and `newsloom scheduler` do that work.")
@click.pass_obj
def serve(obj: Context, host: str | None, port: int | None, workers: int, with_scheduler: bool) -> None:
    """Serve the web UI and the API (and, by default, keep the feeds fresh)."""
    import uvicorn

    from .serve import create_app
    from .tasks.scheduler import EmbeddedScheduler

    host, port = host or obj.settings.host, port or obj.settings.port
    store = obj.store                              # migrates once, before any web process starts
    click.echo(f"serving on http://{host}:{port}/ ({workers} worker{'s' if workers > 1 else ''}"
               f"{', scheduler on' if with_scheduler else ''})", err=True)
    # One process only ever runs the pipeline: this one (uvicorn's supervisor when --workers > 1).
    scheduler = EmbeddedScheduler(store, obj.settings).start() if with_scheduler else None
    # proxy_headers=False: uvicorn would otherwise believe X-Forwarded-For from 127.0.0.1 (any
    # local client could pick its address); NEWSLOOM_TRUSTED_PROXIES decides that (serve/auth.py).
    try:
        if workers > 1:
            _serve_workers(uvicorn.Config("newsloom.serve.app:app_from_env", factory=True, workers=workers,
                                          host=host, port=port, log_level="warning", proxy_headers=False))
        else:
            uvicorn.run(create_app(obj.settings, store), host=host, port=port, log_level="warning",
                        proxy_headers=False)
    finally:
        if scheduler:
            scheduler.stop()


def _serve_workers(config) -> None:
    """uvicorn's multi-process supervisor over a listening socket whose protocol is marked
    TCP, so that asyncio turns Nagle off on every accepted connection (uvicorn's own
    bind_socket leaves the protocol 0, and then each small response waited ~40 ms for a
    delayed ACK: measured ~1,100 req/s at most per instance)."""
    import socket

    from uvicorn.supervisors import Multiprocess

    bound = config.bind_socket()
    sock = socket.socket(bound.family, bound.type, socket.IPPROTO_TCP, fileno=bound.detach())
    Multiprocess(config, sockets=[sock]).run()


@main.command("rebuild-insights")
@click.option("--all", "rebuild_all", is_flag=True, help="Rebuild every story, not only those built by "
              "another version of the pipeline (or never built).")
@click.pass_obj
def rebuild_insights(obj: Context, rebuild_all: bool) -> None:
    """Rebuild stored story insights, hashtags and article summaries (e.g. after an upgrade)."""
    from .tasks.insights import INSIGHTS_VERSION, summarize_articles
    from .tasks.pipeline import build_insights

    store = obj.store
    articles = store.stale_summary_article_ids(-1 if rebuild_all else INSIGHTS_VERSION)
    with click.progressbar(length=len(articles), label="articles", file=sys.stderr) as bar:
        for start in range(0, len(articles), 100):
            summarize_articles(store, articles[start:start + 100])
            bar.update(len(articles[start:start + 100]))
    story_ids = (store.stale_insight_story_ids(-1) if rebuild_all
                 else store.stale_insight_story_ids(INSIGHTS_VERSION))
    built = errors = 0
    with click.progressbar(story_ids, label="stories", file=sys.stderr) as bar:
        for story_id in bar:
            report = build_insights(store, obj.settings, story_ids=[story_id])
            built, errors = built + report.insights, errors + report.errors
    click.echo(f"rebuilt {len(articles)} article summaries and {built} stories "
               f"(insights version {INSIGHTS_VERSION}); {errors} failed")
    if errors:
        sys.exit(1)


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_obj
def status(obj: Context, as_json: bool) -> None:
    """What the pipeline is doing: due feeds, queues, recent articles, errors, heartbeats."""
    from .tasks.status import pipeline_status

    st = pipeline_status(obj.store, obj.settings)
    if as_json:
        click.echo(json.dumps(st, default=str, indent=2))
        return
    click.echo(f"backend {st['backend']}; insights version {st['insights_version']}")
    click.echo(f"feeds: {st['due_feeds']} due, {st['feeds_in_progress']} refreshing; "
               f"{st['pending_entries']} entries pending; {st['unclustered_articles']} articles unclustered")
    click.echo(f"stories: {st['dirty_stories']} waiting for insights, {st['stale_insights']} without current insights")
    click.echo(f"articles ingested in the last hour: {st['articles_last_hour']}")
    if st["queues"] is not None:
        click.echo("queues: " + ", ".join(f"{k} {v}" for k, v in st["queues"].items()))
    for e in st["last_errors"]:
        click.echo(f"last {e['stage']} error ({e['count']} in all) at {e['at']:%Y-%m-%d %H:%M:%S}: {e['message']}")
    if not st["heartbeats"]:
        click.echo("no scheduler or worker has beaten yet")
    for hb in st["heartbeats"]:
        click.echo(f"{hb['role']:<9} {hb['name']}  last beat {hb['age_seconds']:.0f} s ago"
                   f"{'' if hb['alive'] else '  (STALE)'}")


@main.command()
@click.argument("path")
@click.option("--headers", is_flag=True, help="Print the status line and headers too.")
@click.pass_obj
def get(obj: Context, path: str, headers: bool) -> None:
    """Make an in-process request to PATH and print the response body."""
    from fastapi.testclient import TestClient

    from .serve import create_app

    with TestClient(create_app(obj.settings, obj.store)) as client:
        response = client.get(path)
    if headers:
        click.echo(f"HTTP {response.status_code}")
        for k, v in response.headers.items():
            click.echo(f"{k}: {v}")
        click.echo("")
    click.echo(response.text)
    if response.status_code >= 400:
        sys.exit(1)


@main.group("eval")
def eval_group() -> None:
    """Score the fuzzy stages against labelled data, each beside a baseline run on the same input.

    Every input is checked row by row first: a bad row or an empty file is an error naming
    the file, line and field, with exit status 2. With --json each command prints one JSON
    object on stdout.
    """


def _run_eval(work):
    """Run *work* (reading and scoring); an EvalInputError is printed and exits with 2."""
    from .eval.rows import EvalInputError

    try:
        return work()
    except EvalInputError as exc:
        click.echo(exc.message, err=True)
        raise SystemExit(2) from None


def _json_ready(value):
    """Plain JSON: infinities and NaN become null (json.dumps would write Infinity)."""
    if isinstance(value, float) and (value != value or value in (float("inf"), float("-inf"))):
        return None
    if isinstance(value, dict):
        return {str(k): _json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_ready(v) for v in value]
    return value


def _reference(path: Path, task: str) -> dict:
    """Published scores, when a `<name>.reference.json` (or `reference.json`) lies beside the
    file (or, for a folder, inside it)."""
    candidates = [path.with_suffix(".reference.json"), path.parent / "reference.json"]
    if path.is_dir():
        candidates.insert(0, path / "reference.json")
    for candidate in candidates:
        if candidate.is_file():
            try:
                data = json.loads(candidate.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                click.echo(f"eval: {candidate.name}: not a JSON object; published scores ignored", err=True)
                return {}
            if not isinstance(data, dict):
                return {}
            data = data.get(task, data)
            data = data.get("ours", data) if isinstance(data, dict) else {}
            return data if isinstance(data, dict) else {}
    return {}


def _num(value, width: int) -> str:
    if isinstance(value, bool) or value is None:
        return f"{'-':>{width}}"
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            return f"{'-':>{width}}"
        return f"{value:>{width}.4f}"
    return f"{value!s:>{width}}"


def _print_table(title: str, lines: list[tuple[str, object, object]], baseline: str, reference: dict,
                 notes: tuple[str, ...] = ()) -> None:
    """metric | newsloom | the baseline run on the same input | the published score."""
    click.echo(title)
    click.echo(f"  baseline: {baseline}")
    for note in notes:
        click.echo(f"  {note}")
    # Columns are separated by a space, so a wide figure (thousands of articles/s) never runs
    # into the next one.
    click.echo(f"  {'metric':<22} {'newsloom':>10} {'baseline':>10} {'published':>12}")
    for label, ours, base in lines:
        ref = reference.get(label)
        ref = ref if isinstance(ref, (int, float)) and not isinstance(ref, bool) else None
        click.echo(f"  {label:<22} {_num(ours, 10)} {_num(base, 10)} {_num(ref, 12)}")
    shown = {label for label, _, _ in lines}
    for key, value in reference.items():
        if key not in shown:
            click.echo(f"  published {key}: {value}")


def _prf_lines(prefix: str, ours: dict, base: dict | None) -> list[tuple[str, object, object]]:
    base = base or {}
    return [(f"{prefix}_{short}", ours.get(long), base.get(long))
            for short, long in (("p", "precision"), ("r", "recall"), ("f1", "f1"))]


def _emit(as_json: bool, result: dict, show) -> None:
    if as_json:
        click.echo(json.dumps(_json_ready(result), sort_keys=True))
    else:
        show()


_JSON_OPTION = click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")
_FILE = click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))


@eval_group.command("clustering")
@_FILE
@_JSON_OPTION
def eval_clustering(file: Path, as_json: bool) -> None:
    """BCubed and pairwise P/R/F1 of story clustering, beside a TF-IDF average-linkage baseline
    (rows: id, title, text, source, published, story [, lang])."""
    from .eval.clustering import CLUSTERING_FIELDS, evaluate_clustering
    from .eval.rows import read_rows

    r = _run_eval(lambda: evaluate_clustering(read_rows(file, CLUSTERING_FIELDS)))
    b = r["baseline"]
    lines = [("stories_pred", r["stories_pred"], b["stories_pred"]),
             *_prf_lines("bcubed", r["bcubed"], b["bcubed"]),
             *_prf_lines("pairwise", r["pairwise"], b["pairwise"])]
    if "dedupe" in r:
        lines += _prf_lines("dedupe", r["dedupe"], None)
    lines.append(("articles_per_s", r["articles_per_s"], b["articles_per_s"]))
    _emit(as_json, r, lambda: _print_table(
        f"clustering: {file.name} ({r['n']} articles)", lines,
        f"{b['name']} (cut at cosine distance {b['threshold']}, chosen by silhouette)",
        _reference(file, "clustering"), (f"gold stories: {r['stories_gold']}",)))


@eval_group.command("dedupe")
@_FILE
@_JSON_OPTION
def eval_dedupe(file: Path, as_json: bool) -> None:
    """Precision/recall of near-duplicate (wire copy) detection, beside exact-text matching
    (rows: id, text, published, duplicate_of)."""
    from .eval.dedupe import DEDUPE_FIELDS, run_dedupe
    from .eval.rows import read_rows

    raw = _run_eval(lambda: run_dedupe(read_rows(file, DEDUPE_FIELDS)))
    b = raw["baseline"]
    r = {"n": raw["n"], "gold_duplicates": raw["gold_duplicates"],
         "predicted_duplicates": raw["predicted_duplicates"],
         "precision": raw["dedupe_p"], "recall": raw["dedupe_r"], "f1": raw["dedupe_f1"],
         "articles_per_s": raw["articles_per_s"],
         "baseline": {"name": b["name"], "predicted_duplicates": b["predicted_duplicates"],
                      "precision": b["dedupe_p"], "recall": b["dedupe_r"], "f1": b["dedupe_f1"]}}
    lines = [("predicted_duplicates", r["predicted_duplicates"], b["predicted_duplicates"]),
             *_prf_lines("dedupe", r, r["baseline"]), ("articles_per_s", r["articles_per_s"], None)]
    _emit(as_json, r, lambda: _print_table(
        f"dedupe: {file.name} ({r['n']} articles)", lines,
        b["name"], _reference(file, "dedupe"), (f"gold duplicates: {r['gold_duplicates']}",)))


@eval_group.command("hashtags")
@_FILE
@_JSON_OPTION
def eval_hashtags_cmd(file: Path, as_json: bool) -> None:
    """Hashtags vs gold keyphrases: P/R/F1 at 5 and 10, beside a YAKE baseline
    (rows: id, title, text, keyphrases)."""
    from .eval.hashtags import HASHTAG_FIELDS, as_json as shape, eval_hashtags
    from .eval.rows import read_rows

    r = shape(_run_eval(lambda: eval_hashtags(read_rows(file, HASHTAG_FIELDS))))
    lines = [(f"{m}@{k}", r[f"{m}@{k}"], r["baseline"][f"{m}@{k}"]) for k in (5, 10) for m in ("p", "r", "f1")]
    _emit(as_json, r, lambda: _print_table(f"hashtags: {file.name} ({r['n']} articles)", lines,
                                           "yake (n-grams up to 3)", _reference(file, "hashtags")))


@eval_group.command("summaries")
@_FILE
@_JSON_OPTION
def eval_summaries_cmd(file: Path, as_json: bool) -> None:
    """Story briefs vs reference summaries (each article as a story of one article):
    ROUGE-1/2/L F (rouge-score, stemmed), beside Lead-3 split by the same sentence splitter
    (rows: id, title, text, summary)."""
    from .eval.rows import read_rows
    from .eval.summaries import METRICS, SUMMARY_FIELDS, as_json as shape, eval_summaries

    r = shape(_run_eval(lambda: eval_summaries(read_rows(file, SUMMARY_FIELDS))))
    lines = [(m, r[m], r["baseline"][m]) for m in (*METRICS, "words")]
    lines += [(f"summarize_{m}", r["summarize"][m], None) for m in METRICS]
    _emit(as_json, r, lambda: _print_table(
        f"summaries: {file.name} ({r['n']} articles, story brief of each)", lines,
        "lead3 (first three sentences, same splitter)", _reference(file, "summaries")))


@eval_group.command("entities")
@_FILE
@_JSON_OPTION
@click.option("--mode", type=click.Choice(["document", "sentence"]), default="document", show_default=True,
              help="Feed each document's text whole, or each row's sentence alone.")
def eval_entities_cmd(file: Path, as_json: bool, mode: str) -> None:
    """Person/org/place entities vs CoNLL-style gold: P/R/F1 overall and per type, beside a
    capitalised-runs baseline (rows: text, entities, spans, doc, sent, offset)."""
    from .eval.entities import ENTITY_FIELDS, run_entities
    from .eval.rows import read_rows

    r = _run_eval(lambda: run_entities(read_rows(file, ENTITY_FIELDS, key=None), mode=mode))
    b = r["baseline"]
    lines = _prf_lines("entities", r, b)
    for kind in ("person", "org", "place"):
        lines += _prf_lines(kind, r["per_type"][kind], b.get("per_type", {}).get(kind))
    lines.append(("docs_per_s", r.get("docs_per_s"), b.get("docs_per_s")))
    _emit(as_json, r, lambda: _print_table(
        f"entities: {file.name} ({r.get('documents')} documents, {r.get('rows')} rows, {mode} mode)", lines,
        b["name"], _reference(file, "entities")))


@eval_group.command("extraction")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
@_JSON_OPTION
def eval_extraction_cmd(folder: Path, as_json: bool) -> None:
    """Article-body extraction on a folder of pages (html/<id>.html.gz + ground-truth.json):
    shingle P/R/F1 and docs/s, beside plain trafilatura in the same run."""
    from .eval.extraction import run_extraction

    r = _run_eval(lambda: run_extraction(folder))
    b = r["baseline"]
    lines = [*((m, r.get(m), b.get(m)) for m in ("precision", "recall", "f1", "accuracy")),
             ("docs_per_s", r.get("docs_per_s"), b.get("docs_per_s"))]
    _emit(as_json, r, lambda: _print_table(
        f"extraction: {folder.name} ({r.get('pages')} pages)", lines, b["name"],
        _reference(folder, "extraction")))


@main.command("cluster")
@click.pass_obj
def cluster_cmd(obj: Context) -> None:
    """Put every article that has no story yet into one and rebuild the stories it touched
    (refresh, import and the schedulers do this too)."""
    from .tasks.pipeline import settle

    done = settle(obj.store, obj.settings).clustered
    click.echo(f"clustered {done} articles; {obj.store.count_stories()} stories")


@main.command("recluster")
@click.option("--dry-run", is_flag=True, help="Print how old stories map to new ones; write nothing.")
@click.pass_obj
def recluster_cmd(obj: Context, dry_run: bool) -> None:
    """Re-run story clustering over every stored article with the current clusterer; stories
    keep their ids (docs/recluster.md). Safe to re-run: the second run changes nothing."""
    from .tasks.recluster import recluster

    try:
        report = recluster(obj.store, dry_run=dry_run)
    except NewsloomError as exc:
        _fail(exc)
    if not report.articles:
        click.echo("recluster: no articles stored; nothing to do")
        return
    click.echo(report.summary())
    if dry_run:
        for line in report.mapping[:50]:
            click.echo(f"  {line}")
        if len(report.mapping) > 50:
            click.echo(f"  ... and {len(report.mapping) - 50} more")
    if not report.changed:
        click.echo("recluster: stories already match the clusterer; nothing changed")
    elif dry_run:
        click.echo("recluster: dry run; nothing written")
    else:
        click.echo(f"recluster: done; {report.touched} stories marked for an insights rebuild")


@main.group()
def users() -> None:
    """Manage accounts: add users, set roles, issue API tokens."""


@users.command("add")
@click.argument("username")
@click.option("--role", type=click.Choice(["user", "moderator", "admin"]), default="user", show_default=True)
@click.password_option(help="Password (prompted when omitted).")
@click.pass_obj
def users_add(obj: Context, username: str, role: str, password: str) -> None:
    """Create an account (e.g. the first admin)."""
    from argon2 import PasswordHasher

    from .serve.auth import validate_credentials

    problem = validate_credentials(username, password)
    if problem:
        raise click.ClickException(problem)
    s = obj.settings
    digest = PasswordHasher(time_cost=s.argon2_time_cost, memory_cost=s.argon2_memory_cost).hash(password)
    try:
        user = obj.store.create_user(username, digest, role=role)
    except NewsloomError as exc:
        _fail(exc)
    click.echo(f"created {user.username} ({user.role})")


@users.command("set-role")
@click.argument("username")
@click.argument("role", type=click.Choice(["user", "moderator", "admin"]))
@click.pass_obj
def users_set_role(obj: Context, username: str, role: str) -> None:
    """Make a user a moderator or an admin (or a plain user again)."""
    try:
        user = obj.store.set_role(username, role)
    except NewsloomError as exc:
        _fail(exc)
    click.echo(f"{user.username} is now {user.role}")


@users.command("token")
@click.argument("username")
@click.option("--name", default="cli", help="A label for the token.")
@click.pass_obj
def users_token(obj: Context, username: str, name: str) -> None:
    """Issue an API token (printed once) for write actions on the API."""
    try:
        click.echo(obj.store.create_api_token(username, name=name))
    except NewsloomError as exc:
        _fail(exc)


@main.command("settings")
@click.option("--markdown", is_flag=True, help="Print the settings reference (docs/settings.md).")
@click.pass_obj
def settings_cmd(obj: Context, markdown: bool) -> None:
    """Show the effective settings (secrets masked)."""
    if markdown:
        click.echo(settings_markdown(), nl=False)
        return
    for name, value in obj.settings.as_dict().items():
        click.echo(f"{name} = {value!r}")


@main.command()
@click.option("-c", "--concurrency", type=click.IntRange(1, 256), default=None,
              help="Pool processes running tasks (default: the number of CPUs).")
@click.option("-Q", "--queues", multiple=True, metavar="NAMES",
              help="Queues to consume, comma-separated or repeated: feeds, entries, cluster, insights "
                   "(default: all).")
@click.pass_obj
def worker(obj: Context, concurrency: int | None, queues: tuple[str, ...]) -> None:
    """Run pipeline tasks from the broker (scaled-out deployment, with `newsloom scheduler`).

    A Celery worker with a prefork pool: extraction and clustering are CPU-bound, so each
    task process has its own interpreter, store connection and story engine. Tasks are
    acknowledged after they ran; a worker killed mid-task loses nothing (docs/scaling.md)."""
    from .tasks.queue import run_worker

    try:
        run_worker(obj.settings, concurrency=concurrency, queues=queues)
    except NewsloomError as exc:
        _fail(exc)


@main.command()
@click.pass_obj
def scheduler(obj: Context) -> None:
    """Enqueue due work for `newsloom worker` every NEWSLOOM_SCHEDULER_TICK seconds: due
    feeds, entries a dead worker left, clustering, stories whose burst is over. Run one;
    stops on SIGTERM or Ctrl-C."""
    import logging

    from .tasks.queue import run_scheduler

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    try:
        ticks = run_scheduler(obj.settings, on_start=lambda name: click.echo(
            f"scheduler {name}: ticking every {obj.settings.scheduler_tick:g} s", err=True))
    except NewsloomError as exc:
        _fail(exc)
    click.echo(f"scheduler stopped after {ticks} ticks", err=True)


@main.command("demo-eval-set")
@click.argument("out", type=click.File("w", encoding="utf-8"))
def demo_eval_set(out) -> None:
    """Write the demo newsroom as a labelled JSONL set (id, title, text, source, published, story, duplicate_of)."""
    from .demo import load_gold, load_gold_articles

    base = "http://demo.newsloom.test"
    dup = {g["url"]: g["duplicate_of"] for g in load_gold(base)}
    for row in load_gold_articles(base):
        out.write(json.dumps({"id": row["url"], **row, "duplicate_of": dup[row["url"]]}) + "\n")


@main.command()
@click.option("--serve/--no-serve", "serve_web", default=True, help="Serve the web UI afterwards.")
@click.pass_obj
def demo(obj: Context, serve_web: bool) -> None:
    """Serve the fictional demo newsroom locally, subscribe to it, refresh, and serve the web UI."""
    from .demo.server import DemoServer
    from .tasks.jobs import fetch_bytes, import_opml
    from .tasks.pipeline import refresh as run_refresh

    home = obj.settings.home_path
    home.mkdir(parents=True, exist_ok=True)
    toml = home / "newsloom.toml"
    if not toml.exists():
        toml.write_text(DEMO_TOML, encoding="utf-8")
    settings = load_settings(home=str(home))
    obj.settings = settings
    server = DemoServer(port=settings.demo_port).start()
    try:
        click.echo(f"demo newsroom at {server.base_url}/", err=True)
        body = fetch_bytes(settings, server.url("/opml/demo.opml"))
        report = import_opml(obj.store, body)
        reports = run_refresh(obj.store, settings, all_feeds=True)
        click.echo(f"demo: {report.added} feeds added; {sum(r.new for r in reports)} new articles; "
                   f"{obj.store.count_articles()} articles from {obj.store.count_sources_with_articles()} publishers",
                   err=True)
        if serve_web:
            obj.settings = settings
            click.get_current_context().invoke(serve)
    finally:
        server.stop()


if __name__ == "__main__":  # pragma: no cover
    main()
