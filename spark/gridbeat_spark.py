#!/usr/bin/env python3
"""gridbeat's monthly assessment on Apache Spark (DESIGN.md §6, "The history lake").

    python spark/gridbeat_spark.py --lake LAKE --month YYYY-MM --out DIR [--master URL]
    spark-submit --master yarn --files /path/to/gridbeat spark/gridbeat_spark.py --lake … --month … --out …

gridbeat runs no cluster of its own: Spark reads the lake's pings (any path Spark reads:
local, HDFS, S3, OSS), hands each bucket's rows (the month and one day of context on either
side) to `gridbeat summarize --arrow` on the executors as an Arrow stream, writes the
worker_days it gets back through Spark (dynamic partition overwrite: only the partitions it
computed are replaced, each whole), then assembles the report with `gridbeat report --lake` on
the driver.

- A partition whose stored worker_days carry the current engine, parameter and registry
  digests (`gridbeat summarize --digests`) is reused, not computed: a re-run with other score
  weights computes nothing.
- Summaries are a pure function of a bucket's rows, so a task Spark retries writes the same
  rows; partitions are replaced whole.
- The executors need the `gridbeat` binary (on PATH, or shipped with `--files` and found in
  the task's working directory, or `--gridbeat PATH`) and nothing else: the lake's small files
  (`_gridbeat.json`, `registry/`, `gridbeat.toml`) are shipped to them by the job.
- The report step runs `gridbeat report --lake` on the driver: over the lake itself when it is
  a local path, else over a local copy of the month's worker_days (only those; they are small).

Test hook: with GRIDBEAT_SPARK_FAIL_DIR set, every task's first attempt fails after writing a
marker file there (run with a master that retries, e.g. `local[2,4]`), and each successful
attempt writes `task-N` there with the buckets it summarised.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta


def month_bounds(month, tz):
    """UTC ms of the local month's first instant and of the next month's, in `tz`."""
    from zoneinfo import ZoneInfo

    y, m = (int(x) for x in month.split("-"))
    first = datetime(y, m, 1, tzinfo=ZoneInfo(tz))
    nxt = datetime(y + (m == 12), m % 12 + 1, 1, tzinfo=ZoneInfo(tz))
    return int(first.timestamp() * 1000), int(nxt.timestamp() * 1000)


def adjacent(month):
    y, m = (int(x) for x in month.split("-"))
    prev = f"{y - (m == 1):04d}-{(m - 2) % 12 + 1:02d}"
    nxt = f"{y + (m == 12):04d}-{m % 12 + 1:02d}"
    return prev, nxt


def find_gridbeat(given):
    """The binary: as given, else in the task's working directory (shipped with --files), else
    on PATH."""
    if given and os.path.sep in given:
        return given
    name = given or "gridbeat"
    here = os.path.join(os.getcwd(), name)
    if os.path.isfile(here) and os.access(here, os.X_OK):
        return here
    found = shutil.which(name)
    if not found:
        raise RuntimeError(f"{name} is not on PATH: ship it with spark-submit --files, or pass --gridbeat PATH")
    return found


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--lake", required=True, help="the lake (any path Spark reads)")
    ap.add_argument("--month", required=True, help="YYYY-MM, local to the lake's time zone")
    ap.add_argument("--out", required=True, help="where the report is written (on the driver)")
    ap.add_argument("--master", default=None, help="Spark master (default: spark-submit's, else local[*])")
    ap.add_argument("--gridbeat", default=os.environ.get("GRIDBEAT_BIN", "gridbeat"),
                    help="the gridbeat binary (default: GRIDBEAT_BIN, else gridbeat on PATH)")
    ap.add_argument("--format", default="json,csv,xlsx,html", help="report formats")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="a config override for gridbeat (repeatable)")
    args = ap.parse_args(argv)
    started = time.monotonic()

    from pyspark import SparkFiles, TaskContext
    from pyspark.sql import SparkSession
    from pyspark.sql import functions as F
    import pyarrow as pa

    # Local mode: the executors' Python is this one (with pyarrow); a cluster sets its own.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = SparkSession.builder.appName(f"gridbeat {args.month}")
    if args.master:
        builder = builder.master(args.master)
    elif "spark.master" not in os.environ.get("PYSPARK_SUBMIT_ARGS", ""):
        builder = builder.master("local[*]")
    spark = (builder
             .config("spark.sql.sources.partitionColumnTypeInference.enabled", "false")
             .config("spark.sql.sources.partitionOverwriteMode", "dynamic")
             .config("spark.sql.session.timeZone", "UTC")
             .config("spark.sql.execution.arrow.maxRecordsPerBatch", "1000000")
             .getOrCreate())
    sc = spark.sparkContext
    session_s = time.monotonic() - started
    lake = args.lake.rstrip("/")
    month = args.month
    sets = [x for s in args.set for x in ("--set", s)]
    gridbeat_local = find_gridbeat(args.gridbeat)

    # The lake's small files, read through Spark (any file system) into a local copy that is
    # shipped to every executor.
    small = tempfile.mkdtemp(prefix="gridbeat-lake-")
    jvm = sc._jvm
    hconf = sc._jsc.hadoopConfiguration()

    def hpath(p):
        path = jvm.org.apache.hadoop.fs.Path(p)
        return path, path.getFileSystem(hconf)

    def exists(p):
        path, fs = hpath(p)
        return fs.exists(path)

    def read_text(p):
        """A small file through Hadoop's file system (Spark's own readers skip `_` names)."""
        path, fs = hpath(p)
        if not fs.exists(path):
            return None
        stream = fs.open(path)
        try:
            return bytes(jvm.org.apache.commons.io.IOUtils.toByteArray(stream)).decode("utf-8")
        finally:
            stream.close()

    meta_text = read_text(f"{lake}/_gridbeat.json")
    if meta_text is None:
        raise SystemExit(f"{lake} is not a gridbeat lake (no _gridbeat.json)")
    meta = json.loads(meta_text)
    if meta.get("layout") != 1 or not isinstance(meta.get("buckets"), int):
        raise SystemExit(f"{lake}/_gridbeat.json: layout version {meta.get('layout')} (this job reads 1)")
    with open(os.path.join(small, "_gridbeat.json"), "w", encoding="utf-8") as f:
        f.write(meta_text)
    os.makedirs(os.path.join(small, "registry"))
    for name in ("grids.geojson", "workers.csv", "checkpoints.geojson", "devices.csv"):
        text = read_text(f"{lake}/registry/{name}")
        if text is not None:
            with open(os.path.join(small, "registry", name), "w", encoding="utf-8") as f:
                f.write(text)
    toml = read_text(f"{lake}/gridbeat.toml")
    if toml is not None:
        with open(os.path.join(small, "gridbeat.toml"), "w", encoding="utf-8") as f:
            f.write(toml)
    sc.addFile(small, recursive=True)
    small_name = os.path.basename(small)

    digests = json.loads(subprocess.run(
        [gridbeat_local, "summarize", "--digests", "--lake", small, "--month", month] + sets,
        check=True, capture_output=True, text=True).stdout)

    # Which buckets have pings this month, and which of them are current already.
    def listing(p):
        path, fs = hpath(p)
        if not fs.exists(path):
            return []
        return [st.getPath().getName() for st in fs.listStatus(path) if st.isDirectory()]

    buckets = sorted(d.split("=", 1)[1] for d in listing(f"{lake}/pings/month={month}")
                     if d.startswith("bucket="))
    current = set()
    try:
        stored = spark.read.parquet(f"{lake}/worker_days/month={month}")
        by_bucket = (stored.groupBy("bucket")
                     .agg(F.collect_set(F.concat_ws("|", "engine", "params_digest", "registry_digest")).alias("d"))
                     .collect())
        want = "|".join([digests["engine"], digests["params_digest"], digests["registry_digest"]])
        current = {r.bucket for r in by_bucket if list(r.d) == [want]}
    except Exception:  # no worker_days of the month yet
        pass
    todo = [b for b in buckets if b not in current]
    print(f"{month}: {len(buckets)} bucket(s) with pings, {len(current & set(buckets))} current, "
          f"{len(todo)} to summarise", flush=True)

    planned = time.monotonic()
    if todo:
        fail_dir = os.environ.get("GRIDBEAT_SPARK_FAIL_DIR")
        binary = args.gridbeat
        prev, nxt = adjacent(month)
        start, end = month_bounds(month, meta["timezone"])
        day = 86_400_000
        # Each bucket's part files of the month and of the adjacent months (its context), read
        # by Spark as whole files and brought into one task per bucket: the shuffle moves the
        # compressed files, not their rows.
        dirs = [f"{lake}/pings/month={m}/bucket={b}" for m in (prev, month, nxt) for b in todo
                if exists(f"{lake}/pings/month={m}/bucket={b}")]
        files = (spark.read.format("binaryFile").option("pathGlobFilter", "part-*.parquet").load(dirs)
                 .select(F.regexp_extract("path", r"bucket=([0-9]+)", 1).alias("bucket"), "path", "content"))

        # The columns `gridbeat summarize --arrow` reads (source and device are not needed).
        wanted = ["worker", "ts_ms", "lat", "lon", "acc", "speed", "bearing", "alt", "batt",
                  "mock", "checkin", "received_ms"]
        own = f"/month={month}/"

        def summarize(batches):
            import pyarrow.compute as pc
            import pyarrow.parquet as pq
            ctx = TaskContext.get()
            if fail_dir and ctx is not None and ctx.attemptNumber() == 0:
                open(os.path.join(fail_dir, f"failed-{ctx.partitionId()}-{ctx.taskAttemptId()}"), "w").close()
                raise RuntimeError("injected failure of a first attempt (GRIDBEAT_SPARK_FAIL_DIR)")
            # The part files as Arrow buffers (no copy into Python bytes), per bucket.
            by_bucket = {}
            for batch in batches:
                contents = batch.column(2)
                for i, (bkt, path) in enumerate(zip(batch.column(0).to_pylist(),
                                                    batch.column(1).to_pylist())):
                    by_bucket.setdefault(bkt, []).append((path, contents[i].as_buffer()))
            if fail_dir and ctx is not None:
                # The test hook also records which task summarised which buckets.
                with open(os.path.join(fail_dir, f"task-{ctx.partitionId()}"), "w") as f:
                    f.write(" ".join(sorted(by_bucket)))
            exe = find_gridbeat(binary) if by_bucket else None
            lake_dir = SparkFiles.get(small_name)
            for b in sorted(by_bucket):
                tables = []
                for path, buf in sorted(by_bucket[b], key=lambda f: f[0]):
                    pf = pq.ParquetFile(pa.BufferReader(buf))
                    cols = [c for c in wanted if c in pf.schema_arrow.names]
                    table = pf.read(columns=cols)
                    if own not in path:
                        # An adjacent month's file: only its day next to this month is context.
                        ts = pc.cast(table.column("ts_ms"), pa.int64())
                        table = table.filter(pc.and_(pc.greater_equal(ts, start - day),
                                                     pc.less(ts, end + day)))
                    tables.append(table)
                table = pa.concat_tables(tables)
                proc = subprocess.Popen(
                    [exe, "summarize", "--arrow", "--lake", lake_dir, "--month", month] + sets,
                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                try:
                    # gridbeat answers only after the whole stream: write it all, then read.
                    with pa.ipc.new_stream(proc.stdin, table.schema) as w:
                        w.write_table(table)
                    proc.stdin.close()
                except BrokenPipeError:
                    pass  # gridbeat stopped reading: its exit status and stderr say why
                # Its standard error is a few lines: read it after the answer.
                out = proc.stdout.read()
                err = proc.stderr.read()
                proc.wait()
                if proc.returncode != 0:
                    raise RuntimeError(f"gridbeat summarize, bucket {b}: {err.decode(errors='replace')}")
                for batch in pa.ipc.open_stream(out):
                    yield batch

        schema = ("worker string, day date, pings int, accepted int, patrol_s double, "
                  "length_m double, in_assigned_s double, out_of_grid_s double, anomalies int, "
                  "summary binary, engine string, params_digest string, registry_digest string, "
                  "month string, bucket string")
        # One task per bucket, each bucket's files in exactly one task: `repartition(n, col)`
        # places a row in partition pmod(hash(col), n) (Murmur3, as SQL's `hash`), so every
        # bucket gets a key (a long, as `range` makes them: ints hash differently) that hashes
        # to its own partition. Plain hashing of the bucket names
        # would put two buckets in one task and leave another task idle.
        n = len(todo)
        keys = {}
        for row in (spark.range(0, 64 * n)
                    .select("id", F.expr(f"pmod(hash(id), {n})").alias("p")).collect()):
            keys.setdefault(row.p, row.id)
        slot = F.element_at(F.create_map(*[x for i, b in enumerate(todo)
                                          for x in (F.lit(b), F.lit(keys[i]).cast("long"))]),
                             F.col("bucket"))
        rows = (files.withColumn("slot", slot).repartition(n, "slot").drop("slot")
                .mapInArrow(summarize, schema))
        # Each bucket comes out of one task: one file per partition, rows in (worker, day) order.
        (rows.sortWithinPartitions("bucket", "worker", "day")
         .write.mode("overwrite").partitionBy("month", "bucket")
         .parquet(f"{lake}/worker_days"))
        # Spark names a file after its job (part-NNNNN-<uuid>…); the partition's one file gets
        # the name gridbeat's own writer gives it, so the same input gives the same partition,
        # name and bytes, whichever attempt of whichever run wrote it.
        for b in todo:
            path, fs = hpath(f"{lake}/worker_days/month={month}/bucket={b}")
            if not fs.exists(path):
                continue
            parts = [st.getPath() for st in fs.listStatus(path)
                     if st.getPath().getName().startswith("part-")
                     and st.getPath().getName().endswith(".parquet")]
            if len(parts) == 1 and parts[0].getName() != "part-00000.parquet":
                fs.rename(parts[0], jvm.org.apache.hadoop.fs.Path(path, "part-00000.parquet"))
    print(f"{month}: summarised {len(todo)} bucket(s), reused {len(buckets) - len(todo)} "
          f"(Spark session {session_s:.1f} s, planning {planned - started - session_s:.1f} s, "
          f"summaries {time.monotonic() - planned:.1f} s)", flush=True)

    # The report from worker_days, on the driver. A lake given as a URL (hdfs://, s3a://, oss://,
    # file://…) is brought to the driver through Hadoop's file system first: the month's
    # worker_days beside the small files, and an empty pings/month=… directory for each of the
    # month and its neighbours that the lake holds (the report says which days lack context).
    report_lake = lake
    if "://" in lake:
        report_lake = tempfile.mkdtemp(prefix="gridbeat-report-")
        shutil.copytree(small, report_lake, dirs_exist_ok=True)
        src, fs = hpath(f"{lake}/worker_days/month={month}")
        if fs.exists(src):
            os.makedirs(os.path.join(report_lake, "worker_days"))
            dst = "file://" + os.path.join(report_lake, "worker_days", f"month={month}")
            fs.copyToLocalFile(False, src, jvm.org.apache.hadoop.fs.Path(dst), True)
        for m in adjacent(month) + (month,):
            if exists(f"{lake}/pings/month={m}"):
                os.makedirs(os.path.join(report_lake, "pings", f"month={m}"))
    spark.stop()
    report = subprocess.run(
        [gridbeat_local, "report", "--lake", report_lake, "--month", month, "--out", args.out,
         "--format", args.format] + sets, check=False)
    shutil.rmtree(small, ignore_errors=True)
    if report_lake != lake:
        shutil.rmtree(report_lake, ignore_errors=True)
    print(f"{month}: done in {time.monotonic() - started:.1f} s", flush=True)
    return report.returncode


if __name__ == "__main__":
    sys.exit(main())
