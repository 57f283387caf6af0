"""Namespace separators and names, nested listings (exact direct children), and pagination of
namespaces, tables and views, also while other clients insert."""

import threading
import time

import pytest

import helpers
from helpers import (assert_client_error, assert_error, assert_names_unique, create_view,
                     raw_request, unique)
from rest_client import RestClient

# This module gets a server of its own (it creates many namespaces).
_own_server, _own_api = helpers.module_server_fixtures("serac-api-names")


def page_through(api, path, key, params=None, page_size=None, max_pages=500, between=None):
    """Follow next-page-token from pageToken=""; returns (items, pages). `between` runs after
    every page (to interleave other work)."""
    params = dict(params or {})
    params["pageToken"] = ""
    if page_size is not None:
        params["pageSize"] = str(page_size)
    items, pages = [], []
    for _ in range(max_pages):
        r = api.get(path, params=params)
        assert r.status == 200, r
        pages.append(r.body)
        items.extend(r.body[key])
        if page_size is not None:
            assert len(r.body[key]) <= page_size, f"page larger than pageSize {page_size}: {r}"
        token = r.body.get("next-page-token")
        if token is None:
            return items, pages
        assert isinstance(token, str) and token, r.body
        params["pageToken"] = token
        if between:
            between()
    raise AssertionError("pagination did not end")


def assert_pages_well_formed(pages, key, expected_count):
    assert pages[-1].get("next-page-token") is None, "the last page must carry no token"
    for p in pages[:-1]:
        assert p.get("next-page-token"), "every page but the last carries a next-page-token"
    assert sum(len(p[key]) for p in pages) == expected_count


def names(idents):
    return sorted(i["name"] for i in idents)


# -- the namespace separator ----------------------------------------------------------------

@pytest.fixture
def dot_server(start_server):
    """A serac whose advertised namespace separator is '.'."""
    srv = start_server("--namespace-separator", ".")
    return RestClient(srv.url)


def test_config_advertises_dot_separator(dot_server):
    cfg = dot_server.get("/v1/config").body
    assert cfg["overrides"].get("namespace-separator") == "%2E", cfg


def test_default_separator_not_dot(api):
    cfg = api.get("/v1/config").body
    assert cfg["overrides"].get("namespace-separator", "%1F") == "%1F", cfg


def wire(api, method, path, **kw):
    """Send path exactly as written (requests would turn %2E into '.')."""
    return raw_request(api, method, path, **kw)


@pytest.mark.parametrize("sep", ["%2E", "%2e", "%1F", "%1f"])
def test_dot_separator_in_paths(dot_server, sep):
    api = dot_server
    a = unique("a")
    api.create_namespace([a])
    api.create_namespace([a, "b"])
    path = f"{api.p}/namespaces/{a}{sep}b"
    r = wire(api, "GET", path)
    assert r.status == 200, r
    assert r.body["namespace"] == [a, "b"]
    assert wire(api, "HEAD", path).status == 204
    # tables and views under the two-level namespace, addressed with this separator
    r = wire(api, "POST", f"{path}/tables", json={"name": "t", "schema": {
        "type": "struct", "schema-id": 0,
        "fields": [{"id": 1, "name": "id", "type": "long", "required": True}]}})
    assert r.status == 200, r
    r = wire(api, "GET", f"{path}/tables")
    assert r.body["identifiers"] == [{"namespace": [a, "b"], "name": "t"}]
    assert wire(api, "GET", f"{path}/tables/t").status == 200
    create_view(api, [a, "b"], "v")
    assert wire(api, "GET", f"{path}/views/v").status == 200
    assert wire(api, "GET", f"{path}/views").body["identifiers"] == \
        [{"namespace": [a, "b"], "name": "v"}]


def test_dot_separator_three_levels_and_parent(dot_server):
    api = dot_server
    a = unique("a")
    for levels in ([a], [a, "b"], [a, "b", "c"], [a, "bb"]):
        api.create_namespace(levels)
    r = wire(api, "GET", f"{api.p}/namespaces/{a}%2Eb%2Ec")
    assert r.status == 200 and r.body["namespace"] == [a, "b", "c"], r
    # parent arrives decoded: '.' or 0x1F separate its levels
    for parent in (f"{a}.b", f"{a}\x1fb"):
        r = api.get(f"{api.p}/namespaces", params={"parent": parent})
        assert r.status == 200, r
        assert r.body["namespaces"] == [[a, "b", "c"]], (parent, r.body)
    r = api.get(f"{api.p}/namespaces", params={"parent": a})
    assert sorted(r.body["namespaces"]) == [[a, "b"], [a, "bb"]]


def test_unit_separator_wins_over_dot(dot_server):
    """With %1F present, an encoded dot is part of a level name, as Java's decoder does."""
    api = dot_server
    dotted = unique("p") + ".q"
    api.create_namespace([dotted])
    api.create_namespace([dotted, "c"])
    r = wire(api, "GET", f"{api.p}/namespaces/{dotted.replace('.', '%2E')}%1Fc")
    assert r.status == 200, r
    assert r.body["namespace"] == [dotted, "c"]


def test_literal_dot_is_not_the_encoded_separator(dot_server):
    """Java's client leaves '.' inside a level unencoded and joins levels with %2E: a raw '.'
    in the path belongs to the level."""
    api = dot_server
    dotted = unique("x") + ".y"
    api.create_namespace([dotted])
    r = wire(api, "GET", f"{api.p}/namespaces/{dotted}")
    assert r.status == 200, r
    assert r.body["namespace"] == [dotted]


def test_dot_separator_missing_namespace_404(dot_server):
    api = dot_server
    a = unique("a")
    api.create_namespace([a])
    api.create_namespace([a + ".missing"])  # one level with a dot: not what the path names
    r = wire(api, "GET", f"{api.p}/namespaces/{a}%2Emissing")
    assert_error(r, 404, "NoSuchNamespaceException",
                 contains=f"Namespace does not exist: {a}.missing")


def test_dot_separator_drop(dot_server):
    api = dot_server
    a = unique("a")
    api.create_namespace([a])
    api.create_namespace([a, "x"])
    r = wire(api, "DELETE", f"{api.p}/namespaces/{a}%2Ex")
    assert r.status == 204, r
    assert api.head(f"{api.p}/namespaces/{a}%1Fx").status == 404
    assert api.head(f"{api.p}/namespaces/{a}").status == 204


# -- names with dots and odd characters, default separator ----------------------------------

def test_dotted_namespace_is_one_level(api):
    dotted = unique("a") + ".b"
    api.create_namespace([dotted])
    for raw in (dotted, dotted.replace(".", "%2E"), dotted.replace(".", "%2e")):
        r = wire(api, "GET", f"{api.p}/namespaces/{raw}")
        assert r.status == 200, (raw, r)
        assert r.body["namespace"] == [dotted]
    first, second = dotted.split(".")
    assert api.head(api.ns_url([first, second])).status == 404
    assert api.head(api.ns_url([first])).status == 404


def test_dotted_table_and_view_names(api):
    dotted_ns = [unique("d") + ".ns"]
    api.create_namespace(dotted_ns)
    api.create_table(dotted_ns, "t.x")
    create_view(api, dotted_ns, "v.y")
    r = api.get(f"{api.ns_url(dotted_ns)}/tables")
    assert r.body["identifiers"] == [{"namespace": dotted_ns, "name": "t.x"}]
    r = api.get(f"{api.ns_url(dotted_ns)}/views")
    assert r.body["identifiers"] == [{"namespace": dotted_ns, "name": "v.y"}]
    assert api.get(api.table_url(dotted_ns, "t.x")).status == 200
    assert api.get(f"{api.ns_url(dotted_ns)}/views/v.y").status == 200
    # error messages print identifiers with dots, as Java does
    r = api.get(api.table_url(dotted_ns, "nope"))
    assert_error(r, 404, "NoSuchTableException",
                 contains=f"Table does not exist: {dotted_ns[0]}.nope")


@pytest.mark.parametrize("level", ["with space", "under_score", "per%cent", "star*", "dash-x",
                                   "plus+sign", "ünï", "emoji😀"])
def test_odd_namespace_levels(api, level):
    root = unique("odd")
    api.create_namespace([root])
    levels = [root, level]
    r = api.create_namespace(levels)
    assert r.body["namespace"] == levels
    r = api.get(api.ns_url(levels))
    assert r.status == 200 and r.body["namespace"] == levels, r
    r = api.get(f"{api.p}/namespaces", params={"parent": root})
    assert r.body["namespaces"] == [levels]
    api.create_table(levels, "t")
    assert api.get(f"{api.ns_url(levels)}/tables").body["identifiers"] == \
        [{"namespace": levels, "name": "t"}]


# -- nested namespaces: direct children only -------------------------------------------------

def test_parent_lists_exact_direct_children(api):
    root = unique("nest")
    tree = [[root], [root, "a"], [root, "a", "x"], [root, "a", "x", "y"], [root, "ab"],
            [root, "ab", "z"], [root, "a b"], [root, "a.b"], [root + "a"], [root + "a", "q"]]
    for levels in tree:
        api.create_namespace(levels)

    def children(*levels):
        r = api.get(f"{api.p}/namespaces", params={"parent": "\x1f".join(levels)})
        assert r.status == 200, r
        return sorted(r.body["namespaces"])

    assert children(root) == sorted([[root, "a"], [root, "ab"], [root, "a b"], [root, "a.b"]])
    assert children(root, "a") == [[root, "a", "x"]]
    assert children(root, "a", "x") == [[root, "a", "x", "y"]]
    assert children(root, "a", "x", "y") == []
    assert children(root, "ab") == [[root, "ab", "z"]]
    assert children(root, "a.b") == []
    assert children(root + "a") == [[root + "a", "q"]]


@pytest.mark.parametrize("wild", ["_", "%", "\\", "*", "?", "[", "'"])
def test_parent_with_pattern_characters(api, wild):
    """Characters that are wildcards or escapes in SQL LIKE / GLOB must match only themselves."""
    stem = unique("w")
    mine, other = stem + wild, stem + "X"
    for levels in ([mine], [mine, "c1"], [other], [other, "c2"], [stem + wild + "Y"],
                   [stem + wild + "Y", "c3"]):
        api.create_namespace(levels)
    r = api.get(f"{api.p}/namespaces", params={"parent": mine})
    assert r.status == 200, r
    assert r.body["namespaces"] == [[mine, "c1"]]
    # tables of a namespace never include another namespace's tables
    api.create_table([mine], "t_mine")
    api.create_table([other], "t_other")
    api.create_table([mine, "c1"], "t_child")
    assert names(api.get(f"{api.ns_url([mine])}/tables").body["identifiers"]) == ["t_mine"]
    create_view(api, [other], "v_other")
    assert api.get(f"{api.ns_url([mine])}/views").body["identifiers"] == []


def test_top_level_lists_no_children(api):
    root = unique("top")
    api.create_namespace([root])
    api.create_namespace([root, "kid"])
    got, _ = page_through(api, f"{api.p}/namespaces", "namespaces", page_size=50)
    assert [root] in got
    assert all(len(x) == 1 for x in got), [x for x in got if len(x) != 1][:5]


def test_tables_list_excludes_child_namespaces(api, ns):
    api.create_namespace([*ns, "child"])
    api.create_table(ns, "parent_t")
    api.create_table([*ns, "child"], "child_t")
    assert api.get(f"{api.ns_url(ns)}/tables").body["identifiers"] == \
        [{"namespace": ns, "name": "parent_t"}]


# -- pagination -----------------------------------------------------------------------------

@pytest.mark.parametrize("size", [1, 2, 3, 7, 8, 100])
def test_tables_paging(api, ns, size):
    want = [f"t{i:02d}" for i in range(7)]
    for n in reversed(want):
        api.create_table(ns, n)
    items, pages = page_through(api, f"{api.ns_url(ns)}/tables", "identifiers", page_size=size)
    assert_names_unique(items, "table")
    assert names(items) == want
    assert all(i["namespace"] == ns for i in items)
    assert_pages_well_formed(pages, "identifiers", len(want))
    assert len(pages) >= -(-len(want) // size)


@pytest.mark.parametrize("size", [1, 3, 5, 6])
def test_views_paging(api, ns, size):
    want = [f"v{i}" for i in range(5)]
    for n in want:
        create_view(api, ns, n)
    api.create_table(ns, "not_a_view")
    items, pages = page_through(api, f"{api.ns_url(ns)}/views", "identifiers", page_size=size)
    assert_names_unique(items, "view")
    assert names(items) == want
    assert_pages_well_formed(pages, "identifiers", len(want))


@pytest.mark.parametrize("size", [1, 4])
def test_namespaces_paging_with_parent(api, size):
    root = unique("pp")
    api.create_namespace([root])
    kids = [f"k{i}" for i in range(6)]
    for k in kids:
        api.create_namespace([root, k])
        api.create_namespace([root, k, "grandchild"])
    items, pages = page_through(api, f"{api.p}/namespaces", "namespaces",
                                params={"parent": root}, page_size=size)
    assert_names_unique(items, "namespace")
    assert sorted(items) == [[root, k] for k in kids]
    assert_pages_well_formed(pages, "namespaces", len(kids))


def test_paging_empty_lists(api, ns):
    for path, key in ((f"{api.ns_url(ns)}/tables", "identifiers"),
                      (f"{api.ns_url(ns)}/views", "identifiers")):
        items, pages = page_through(api, path, key, page_size=3)
        assert items == [] and len(pages) == 1
        assert pages[0].get("next-page-token") is None


def test_unpaged_lists_return_everything(api, ns):
    for i in range(5):
        api.create_table(ns, f"t{i}")
        create_view(api, ns, f"v{i}")
    for path in (f"{api.ns_url(ns)}/tables", f"{api.ns_url(ns)}/views"):
        r = api.get(path)
        assert r.status == 200, r
        assert len(r.body["identifiers"]) == 5
        assert r.body.get("next-page-token") is None


def test_page_token_is_not_shared_between_lists(api, ns):
    """A token from one listing used on another still yields a valid, duplicate-free answer or
    a 400: never a 5xx, never an item of the other list."""
    for i in range(4):
        api.create_table(ns, f"t{i}")
        create_view(api, ns, f"v{i}")
    r = api.get(f"{api.ns_url(ns)}/tables", params={"pageToken": "", "pageSize": "2"})
    token = r.body["next-page-token"]
    r = api.get(f"{api.ns_url(ns)}/views", params={"pageToken": token, "pageSize": "2"})
    if r.status == 200:
        assert all(i["name"].startswith("v") for i in r.body["identifiers"]), r
    else:
        assert_client_error(r, (400,))


@pytest.mark.parametrize("route", ["tables", "views"])
@pytest.mark.parametrize("size", ["0", "-1", "abc", ""])
def test_bad_page_size_400(api, ns, route, size):
    r = api.get(f"{api.ns_url(ns)}/{route}", params={"pageToken": "", "pageSize": size})
    assert_client_error(r, (400,))


@pytest.mark.parametrize("route", ["tables", "views"])
def test_bad_page_token_400(api, ns, route):
    r = api.get(f"{api.ns_url(ns)}/{route}", params={"pageToken": "%%garbage", "pageSize": "2"})
    assert_client_error(r, (400,))


def test_paging_missing_namespace_404(api):
    missing = [unique("nons")]
    for route in ("tables", "views"):
        r = api.get(f"{api.ns_url(missing)}/{route}", params={"pageToken": "", "pageSize": "2"})
        assert_error(r, 404, "NoSuchNamespaceException")


def test_paging_survives_deletes(api, ns):
    """Dropping the last item of a page does not break the next page."""
    want = [f"t{i}" for i in range(6)]
    for n in want:
        api.create_table(ns, n)
    r = api.get(f"{api.ns_url(ns)}/tables", params={"pageToken": "", "pageSize": "3"})
    first = names(r.body["identifiers"])
    token = r.body["next-page-token"]
    assert api.delete(api.table_url(ns, first[-1])).status == 204
    r = api.get(f"{api.ns_url(ns)}/tables", params={"pageToken": token, "pageSize": "3"})
    assert r.status == 200, r
    assert names(r.body["identifiers"]) == [n for n in want if n not in first]


# -- stability while others insert ----------------------------------------------------------

@pytest.mark.slow
def test_tables_paging_stable_under_concurrent_inserts(api, ns):
    existing = [f"t{i:03d}" for i in range(50)]
    for n in existing:
        api.create_table(ns, n)
    stop = threading.Event()
    added, errors = [], []

    def inserter():
        # names that sort before, between and after the existing ones
        i = 0
        try:
            while not stop.is_set() and i < 60:
                for stem in ("a", f"t{i % 50:03d}_", "z"):
                    n = f"{stem}{i:03d}"
                    api.create_table(ns, n)
                    added.append(n)
                i += 1
        except BaseException as e:
            errors.append(repr(e))

    th = threading.Thread(target=inserter)
    th.start()
    try:
        items, pages = page_through(api, f"{api.ns_url(ns)}/tables", "identifiers", page_size=5,
                                    between=lambda: time.sleep(0.02))
    finally:
        stop.set()
        th.join(120)
    assert not errors, errors
    got = [i["name"] for i in items]
    assert_names_unique(got, "table")
    missing = sorted(set(existing) - set(got))
    assert not missing, f"tables that existed before the listing started are missing: {missing}"
    assert set(got) <= set(existing) | set(added), "a listing returned a name never created"
    assert len(pages) >= 10
    assert added, "the inserter did not run concurrently"


@pytest.mark.slow
def test_namespaces_paging_stable_under_concurrent_inserts(api):
    root = unique("conc")
    api.create_namespace([root])
    existing = [f"n{i:03d}" for i in range(30)]
    for n in existing:
        api.create_namespace([root, n])
    stop = threading.Event()
    errors = []

    def inserter():
        i = 0
        try:
            while not stop.is_set() and i < 90:
                api.create_namespace([root, f"{'amz'[i % 3]}{i:03d}"])
                i += 1
        except BaseException as e:
            errors.append(repr(e))

    th = threading.Thread(target=inserter)
    th.start()
    try:
        items, _ = page_through(api, f"{api.p}/namespaces", "namespaces",
                                params={"parent": root}, page_size=4,
                                between=lambda: time.sleep(0.02))
    finally:
        stop.set()
        th.join(120)
    assert not errors, errors
    assert_names_unique(items, "namespace")
    got = {x[1] for x in items}
    assert all(len(x) == 2 and x[0] == root for x in items)
    missing = sorted(set(existing) - got)
    assert not missing, f"namespaces that existed before the listing are missing: {missing}"

