"""Run the API suite (tests/api) against serac with its default warehouse on S3 (moto).

    .venv/bin/python tests/s3/api_on_s3.py [pytest arguments]     (default: tests/api -q)

Nothing in tests/api changes. This runner loads the suite with a plugin that

- starts moto with authentication on (tests/s3/s3env.py; $SERAC_TEST_S3_ENDPOINT uses a running
  one), makes a bucket, and puts SERAC_WAREHOUSE_STORAGE (keys as env: references) and the keys
  into the environment every serac of the suite inherits;
- gives each serac its own SERAC_WAREHOUSE_LOCATION, s3://<bucket>/<server name>-<id> (a server
  restarted on the same data directory keeps its location), so servers never share objects;
- makes the suite's file checks look in the bucket: helpers.local_path() of an s3:// URI is an
  S3Path (is_file, exists, read_bytes, unlink, parent, / ... answered by boto3),
  helpers.metadata_files() lists the bucket, SeracServer.warehouse_dir is the server's S3
  location, and the two directory walkers of test_tables.py (_wait_gone, _files_left) list the
  bucket instead of the disk;
- skips, with the reason, the few tests that are about local files by nature (NOT_ON_S3).

Anything else the suite does goes through serac's API unchanged, so every other test runs as it
does on a file: warehouse.
"""

import json
import os
import sys
import time
import uuid
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parents[1]
for p in (HERE, REPO_ROOT / "tests" / "lib", REPO_ROOT / "tests" / "api"):
    if str(p) not in sys.path:
        sys.path.insert(0, str(p))

import s3env  # noqa: E402

# Tests about local files by nature: they give serac file: locations (which an s3:// warehouse
# refuses, 400), or break the warehouse by renaming directories on disk.
NOT_ON_S3 = {
    "tests/api/test_commits.py::test_set_location":
        "moves the table to a file: location",
    "tests/api/test_idempotency.py::test_5xx_is_not_recorded":
        "forces a 5xx by renaming the table's metadata directory on disk",
    "tests/api/test_tables.py::test_create_explicit_location":
        "creates a table at a file: location",
    "tests/api/test_tables.py::test_create_hadoop_style_location":
        "creates a table at a file: location",
    "tests/api/test_views.py::test_create_explicit_location":
        "creates a view at a file: location",
    "tests/api/test_views.py::test_replace_set_location":
        "moves a view to a file: location",
    "tests/api/test_views.py::test_register_view_plain_json_file":
        "registers a metadata file written to local disk",
}

# Module-level helpers of test modules that walk the local disk, replaced by bucket listings.
DISK_WALKERS = {"test_tables": ("_wait_gone", "_files_left")}

FSPATH_ROOT = "/nonexistent-s3"  # what os.fspath() of an S3Path gives: never a real path


class S3Path:
    """Enough of pathlib.Path over one bucket for the API suite's checks."""

    moto = None

    def __init__(self, bucket, key):
        self.bucket = bucket
        self.key = key.strip("/")

    @classmethod
    def from_uri(cls, uri):
        bucket, key = s3env.split_uri(uri)
        return cls(bucket, key)

    def __truediv__(self, part):
        part = str(part).strip("/")
        return S3Path(self.bucket, f"{self.key}/{part}" if self.key else part)

    @property
    def parent(self):
        return S3Path(self.bucket, self.key.rsplit("/", 1)[0] if "/" in self.key else "")

    @property
    def name(self):
        return self.key.rsplit("/", 1)[-1]

    def __fspath__(self):
        return f"{FSPATH_ROOT}/{self.bucket}/{self.key}"

    def __str__(self):
        return f"s3://{self.bucket}/{self.key}"

    __repr__ = __str__

    def __eq__(self, other):
        return isinstance(other, S3Path) and (self.bucket, self.key) == (other.bucket, other.key)

    def __hash__(self):
        return hash((self.bucket, self.key))

    def children(self):
        """Keys under this path, relative to it."""
        return [k[len(self.key) + 1:] for k in self.moto.keys_under(self.bucket, self.key + "/")]

    def is_file(self):
        return self.moto.exists(str(self))

    def is_dir(self):
        return bool(self.children())

    def exists(self):
        return self.is_file() or self.is_dir()

    def iterdir(self):
        names = sorted({c.split("/", 1)[0] for c in self.children()})
        return [self / n for n in names]

    def read_bytes(self):
        return self.moto.read(str(self))

    def read_text(self, encoding="utf-8"):
        return self.read_bytes().decode(encoding)

    def write_bytes(self, data):
        self.moto.client().put_object(Bucket=self.bucket, Key=self.key, Body=data)

    def write_text(self, text, encoding="utf-8"):
        self.write_bytes(text.encode(encoding))

    def unlink(self, missing_ok=False):
        if not missing_ok and not self.is_file():
            raise FileNotFoundError(str(self))
        self.moto.client().delete_object(Bucket=self.bucket, Key=self.key)


class ApiOnS3:
    def __init__(self):
        self.moto = None
        self.bucket = None
        self.locations = {}
        self.saved = {}

    # -- set up -----------------------------------------------------------------------------

    def pytest_configure(self, config):
        self.moto = s3env.session_moto(name="moto-api")
        S3Path.moto = self.moto
        self.bucket = self.moto.create_bucket("serac-api")
        env = {"SERAC_WAREHOUSE_STORAGE": json.dumps(s3env.storage_settings(self.moto)),
               **s3env.server_env(self.moto)}
        for k, v in env.items():
            self.saved[k] = os.environ.get(k)
            os.environ[k] = v
        self._patch_servers()
        self._patch_helpers()

    def pytest_unconfigure(self, config):
        for k, v in self.saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        if self.moto is not None:
            self.moto.stop()

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session, exitstatus):
        """The suite must really have used the bucket: a run that created tables and left no
        metadata file in it ran on something else."""
        if self.moto is None or session.testscollected == 0 or exitstatus != 0:
            return
        keys = self.moto.keys_under(self.bucket)
        if not any(k.endswith(".metadata.json") for k in keys):
            session.exitstatus = pytest.ExitCode.TESTS_FAILED
            print(f"\napi_on_s3: no metadata file in s3://{self.bucket} after the run: the "
                  f"servers did not use the S3 warehouse", file=sys.stderr)
        else:
            print(f"\napi_on_s3: {len(keys)} objects in s3://{self.bucket} after the run")

    def pytest_report_header(self, config):
        return [f"warehouse: s3://{self.bucket}/<server>-<id> on moto {self.moto.url} "
                f"(authentication on)"]

    def _patch_servers(self):
        import serac_server

        plugin = self
        original_start = serac_server.SeracServer.start

        def start(srv):
            env = dict(srv.env or {})
            given = "SERAC_WAREHOUSE_LOCATION" in env or any(
                a == "--warehouse-location" or a.startswith("--warehouse-location=")
                for a in srv.extra_args)
            if not given:
                key = str(Path(srv.data_dir).resolve()) if srv.data_dir else None
                loc = plugin.locations.get(key) if key else None
                if loc is None:
                    loc = f"s3://{plugin.bucket}/{srv.name}-{uuid.uuid4().hex[:8]}"
                    if key:
                        plugin.locations[key] = loc
                env["SERAC_WAREHOUSE_LOCATION"] = loc
                srv.env = env
                srv.s3_location = loc
            return original_start(srv)

        serac_server.SeracServer.start = start
        original_wh = serac_server.SeracServer.warehouse_dir

        def warehouse_dir(srv):
            loc = getattr(srv, "s3_location", None)
            return S3Path.from_uri(loc) if loc else original_wh.fget(srv)

        serac_server.SeracServer.warehouse_dir = property(warehouse_dir)

    def _patch_helpers(self):
        import helpers

        original_local_path = helpers.local_path

        def local_path(uri):
            if isinstance(uri, S3Path):
                return uri
            if isinstance(uri, str) and uri.startswith(("s3://", "s3a://", "s3n://")):
                return S3Path.from_uri(uri)
            return original_local_path(uri)

        original_metadata_files = helpers.metadata_files

        def metadata_files(metadata):
            d = local_path(metadata["location"])
            if not isinstance(d, S3Path):
                return original_metadata_files(metadata)
            return sorted(c for c in (d / "metadata").children()
                          if "/" not in c and c.endswith(".metadata.json"))

        helpers.local_path = local_path
        helpers.metadata_files = metadata_files

    # -- per test -----------------------------------------------------------------------------

    def pytest_collection_modifyitems(self, config, items):
        patched = set()
        for item in items:
            node = item.nodeid if item.nodeid.startswith("tests/") else "tests/" + item.nodeid
            base = node.split("[", 1)[0]
            if base in NOT_ON_S3:
                item.add_marker(pytest.mark.skip(reason=f"not on S3: {NOT_ON_S3[base]}"))
            mod = getattr(item, "module", None)
            if mod is None or mod.__name__ in patched:
                continue
            names = DISK_WALKERS.get(mod.__name__)
            if names:
                for n in names:
                    assert hasattr(mod, n), f"{mod.__name__}.{n} is gone: update api_on_s3.py"
                mod._wait_gone = _wrap_wait_gone(mod._wait_gone)
                mod._files_left = _wrap_files_left(mod._files_left)
                patched.add(mod.__name__)
        missing = set(DISK_WALKERS) - patched
        selected = {getattr(i, "module", None).__name__ for i in items if hasattr(i, "module")}
        assert not (missing & selected), f"could not patch {missing & selected}"


def _wrap_wait_gone(original):
    def wait_gone(path, seconds=10.0):
        if not isinstance(path, S3Path):
            return original(path, seconds)
        return s3env.wait_until(lambda: not path.exists(), seconds)

    return wait_gone


def _wrap_files_left(original):
    def files_left(directory, seconds=10.0):
        if not isinstance(directory, S3Path):
            return original(directory, seconds)
        deadline = time.monotonic() + seconds
        while True:
            left = [str(directory / c) for c in directory.children()]
            if not left or time.monotonic() > deadline:
                return left
            time.sleep(0.1)

    return files_left


def main(argv):
    args = list(argv) or ["-q"]
    if not any(os.path.exists(a.split("::", 1)[0]) for a in args if not a.startswith("-")):
        args.insert(0, str(REPO_ROOT / "tests" / "api"))
    return pytest.main(args, plugins=[ApiOnS3()])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
