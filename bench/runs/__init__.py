"""The run folder: the only code that reads or writes ``meta.json``, the parts, lanes and curves.

Layout of one run, ``OUT/<suite>__<backend>-<device>__<UTC stamp>[-K]/``::

    meta.json                     suite, suite_hash, machine, wall_s, entries; "complete" at the end
    parts/<key>.lanes.parquet     one entry's lanes  } written first (temp file, then rename)
    parts/<key>.curves.parquet    one entry's curves }
    parts/<key>.hits.parquet      one entry's steps to each target }
    lanes.csv                     every marked entry's lanes: a log, this entry's rows appended
    curves.csv.gz                 every marked entry's curves: one gzip member appended per entry
    parts/<key>.json              the entry's marker, written LAST: the entry is done
    lanes.parquet, curves.parquet written once, when a session ends (suite order)
    hits.parquet, hits.csv        likewise (one row per lane and target; small)
    parts/<key>.params.parquet    one entry's parameters along the run, where the suite records
    params.parquet                them (trajectories = true; problems with few parameters):
                                  one row per lane and point, its final parameters last; older
                                  runs have none (read_params gives None)

Why this order: the marker is the commit. After a kill at any moment every marked entry is in
``lanes.csv`` and ``curves.csv.gz``; what follows the last commit (rows of the entry in progress,
a torn line or gzip member) is dropped by the readers here and cut off by ``--resume``. Each entry
appends once, so saving costs O(entry), not O(run) (the old combine rewrote all four tables after
every entry: quadratic). The marker records the length of ``curves.csv.gz`` after its member, so
a reader takes only the committed bytes; lanes rows are matched to marked entries by their key.

A new folder is made with ``mkdir(exist_ok=False)``: two runs started in the same second, or two
suite files that share a ``name``, get two folders (``...Z``, ``...Z-2``), never one. Only
``--resume`` continues a folder, and only one made by the same suite definition (``suite_hash``)
on the same machine and software; a session holds an ``flock`` on ``parts/`` so two
sessions never write one folder.
"""

from bench.errors import NoRunError, RunFolderError
from bench.runs._files import (
    ENTRY_COLUMNS,
    LANE_SCALING,
    META_KEYS,
    REPORT_COLUMNS,
    atomic_write,
    check_table,
    entry_keys,
    markers,
    read_meta,
    read_table,
    write_json,
    write_meta,
    write_text,
)
from bench.runs._reading import (
    Run,
    discover,
    folder_env,
    is_complete,
    lanes_file,
    newest_lane_scaling,
    newest_scaling,
    read_curves,
    read_hits,
    read_lanes,
    read_lanes_file,
    read_params,
    run_folders,
)
from bench.runs._writing import (
    check_name,
    check_resumable,
    create,
    find_resumable,
    finish,
    prepare_resume,
    run_prefix,
    save_entry,
    session_lock,
    slug,
    suite_file_label,
    suite_hash,
    utc_stamp,
    write_lane_scaling,
    write_scaling,
)

__all__ = [
    "ENTRY_COLUMNS",
    "LANE_SCALING",
    "META_KEYS",
    "REPORT_COLUMNS",
    "NoRunError",
    "Run",
    "RunFolderError",
    "atomic_write",
    "check_name",
    "check_resumable",
    "check_table",
    "create",
    "discover",
    "entry_keys",
    "find_resumable",
    "finish",
    "folder_env",
    "is_complete",
    "lanes_file",
    "markers",
    "newest_lane_scaling",
    "newest_scaling",
    "prepare_resume",
    "read_curves",
    "read_hits",
    "read_lanes",
    "read_lanes_file",
    "read_meta",
    "read_params",
    "read_table",
    "run_folders",
    "run_prefix",
    "save_entry",
    "session_lock",
    "slug",
    "suite_file_label",
    "suite_hash",
    "utc_stamp",
    "write_json",
    "write_lane_scaling",
    "write_meta",
    "write_scaling",
    "write_text",
]
