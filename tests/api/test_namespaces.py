"""Namespace routes: create, load, exists, list (parent, paging), drop, properties, encoding."""

import pytest

from helpers import assert_client_error, assert_error, unique
from rest_client import enc, ns_path


def list_all(api, parent=None, page_size=None, max_pages=100):
    """Follow next-page-token from an empty pageToken; returns (namespaces, pages)."""
    params = {"pageToken": ""}
    if parent is not None:
        params["parent"] = parent
    if page_size is not None:
        params["pageSize"] = str(page_size)
    out, pages = [], []
    for _ in range(max_pages):
        r = api.get(f"{api.p}/namespaces", params=params)
        assert r.status == 200, r
        pages.append(r.body)
        out.extend(r.body["namespaces"])
        token = r.body.get("next-page-token")
        if token is None:
            return out, pages
        assert isinstance(token, str) and token != "", r.body
        params["pageToken"] = token
    raise AssertionError("pagination did not end")


def test_create_and_load(api):
    name = unique("ns")
    r = api.create_namespace([name], {"owner": "alice", "purpose": "tests"})
    assert r.schema == "CreateNamespaceResponse"
    assert r.body["namespace"] == [name]
    assert r.body["properties"]["owner"] == "alice"
    r = api.get(api.ns_url([name]))
    assert r.status == 200, r
    assert r.schema == "GetNamespaceResponse"
    assert r.body["namespace"] == [name]
    assert r.body["properties"]["owner"] == "alice"
    assert r.body["properties"]["purpose"] == "tests"


def test_create_without_properties(api):
    name = unique("ns")
    r = api.post(f"{api.p}/namespaces", json={"namespace": [name]})
    assert r.status == 200, r
    assert r.body["namespace"] == [name]
    r = api.get(api.ns_url([name]))
    assert r.status == 200, r
    assert r.body["namespace"] == [name]


def test_create_existing_409(api, ns):
    r = api.create_namespace(ns, expect=None)
    assert_error(r, 409, "AlreadyExistsException", startswith=f"Namespace already exists: {ns[0]}")


def test_load_missing_404(api):
    name = unique("missing")
    r = api.get(api.ns_url([name]))
    assert_error(r, 404, "NoSuchNamespaceException", startswith=f"Namespace does not exist: {name}")


def test_head_exists(api, ns):
    r = api.head(api.ns_url(ns))
    assert r.status == 204, r
    assert r.raw.content == b""
    r = api.head(api.ns_url([unique("missing")]))
    assert r.status == 404, r
    assert r.raw.content == b""


def test_list_top_level_contains_created(api):
    names = [unique("top") for _ in range(3)]
    for n in names:
        api.create_namespace([n])
    r = api.get(f"{api.p}/namespaces")
    assert r.status == 200, r
    assert r.schema == "ListNamespacesResponse"
    listed = r.body["namespaces"]
    for n in names:
        assert [n] in listed
    assert all(len(x) == 1 for x in listed), "top-level listing must hold only 1-level names"
    assert r.body.get("next-page-token") is None


def test_list_direct_children_only(api):
    root = unique("root")
    api.create_namespace([root])
    for child in (["a"], ["ab"], ["b"], ["a", "x"], ["a", "x", "deep"], ["ab", "y"]):
        api.create_namespace([root, *child])
    # a sibling tree sharing the prefix of root must never show up
    api.create_namespace([root + "z"])
    api.create_namespace([root + "z", "a"])

    r = api.get(f"{api.p}/namespaces", params={"parent": root})
    assert r.status == 200, r
    assert sorted(r.body["namespaces"]) == [[root, "a"], [root, "ab"], [root, "b"]]

    r = api.get(f"{api.p}/namespaces", params={"parent": f"{root}\x1fa"})
    assert r.status == 200, r
    assert r.body["namespaces"] == [[root, "a", "x"]], "children of 'a' must not include 'ab/*'"

    r = api.get(f"{api.p}/namespaces", params={"parent": f"{root}\x1fab"})
    assert r.body["namespaces"] == [[root, "ab", "y"]]

    r = api.get(f"{api.p}/namespaces", params={"parent": f"{root}\x1fb"})
    assert r.body["namespaces"] == []

    # the top level shows root but none of its children
    top, _ = list_all(api)
    assert [root] in top and [root, "a"] not in top


def test_list_empty_parent_means_top_level(api, ns):
    r = api.get(f"{api.p}/namespaces", params={"parent": ""})
    assert r.status == 200, r
    assert ns in r.body["namespaces"]


def test_list_missing_parent_404(api):
    name = unique("non_existing")
    r = api.get(f"{api.p}/namespaces", params={"parent": name})
    assert_error(r, 404, "NoSuchNamespaceException", contains=f"Namespace does not exist: {name}")


def test_list_pagination(api):
    root = unique("paged")
    api.create_namespace([root])
    children = [f"c{i:02d}" for i in range(7)]
    for c in children:
        api.create_namespace([root, c])

    got, pages = list_all(api, parent=root, page_size=3)
    assert sorted(got) == [[root, c] for c in children]
    assert len(got) == len(children), f"duplicates across pages: {got}"
    assert len(pages) >= 3
    for p in pages:
        assert len(p["namespaces"]) <= 3
    assert pages[-1].get("next-page-token") is None, "the last page must carry no token"
    for p in pages[:-1]:
        assert p.get("next-page-token"), "every page but the last carries a next-page-token"

    # without pageToken: everything in one response, no next page
    r = api.get(f"{api.p}/namespaces", params={"parent": root})
    assert sorted(r.body["namespaces"]) == [[root, c] for c in children]
    assert r.body.get("next-page-token") is None


def test_list_pagination_exact_multiple(api):
    root = unique("paged")
    api.create_namespace([root])
    for i in range(4):
        api.create_namespace([root, f"k{i}"])
    got, pages = list_all(api, parent=root, page_size=2)
    assert sorted(got) == [[root, f"k{i}"] for i in range(4)]
    assert pages[-1].get("next-page-token") is None


def test_list_pagination_top_level_no_duplicates(api):
    for _ in range(3):
        api.create_namespace([unique("pg")])
    # The shared server holds every other test's namespaces too: bound the walk by their count.
    full = api.get(f"{api.p}/namespaces").body["namespaces"]
    got, _ = list_all(api, page_size=2, max_pages=len(full) // 2 + 2)
    keys = [tuple(x) for x in got]
    assert len(keys) == len(set(keys)), "a namespace appeared on two pages"
    assert sorted(keys) == sorted(tuple(x) for x in full)


@pytest.mark.parametrize("size", ["0", "-1", "abc", "1.5"])
def test_list_bad_page_size_400(api, size):
    r = api.get(f"{api.p}/namespaces", params={"pageToken": "", "pageSize": size})
    assert_client_error(r, (400,))


def test_list_bad_page_token_400(api):
    r = api.get(f"{api.p}/namespaces", params={"pageToken": "not-a-token-%%%", "pageSize": "2"})
    assert_client_error(r, (400,))


def test_drop_empty(api):
    name = unique("drop")
    api.create_namespace([name])
    r = api.delete(api.ns_url([name]))
    assert r.status == 204, r
    assert api.get(api.ns_url([name])).status == 404
    assert [name] not in api.get(f"{api.p}/namespaces").body["namespaces"]
    r = api.delete(api.ns_url([name]))
    assert_error(r, 404, "NoSuchNamespaceException", startswith=f"Namespace does not exist: {name}")


def test_drop_non_empty_table_409(api, ns):
    api.create_table(ns, "t1")
    r = api.delete(api.ns_url(ns))
    assert_error(r, 409, "NamespaceNotEmptyException", contains="is not empty")
    assert api.get(api.ns_url(ns)).status == 200


def test_drop_non_empty_child_namespace_409(api, ns):
    api.create_namespace([*ns, "child"])
    r = api.delete(api.ns_url(ns))
    assert_error(r, 409, "NamespaceNotEmptyException", contains="is not empty")
    assert api.get(api.ns_url([*ns, "child"])).status == 200


def test_recreate_after_drop(api):
    name = unique("again")
    api.create_namespace([name], {"v": "1"})
    assert api.delete(api.ns_url([name])).status == 204
    api.create_namespace([name], {"v": "2"})
    assert api.get(api.ns_url([name])).body["properties"]["v"] == "2"


def test_update_properties(api):
    name = unique("props")
    api.create_namespace([name], {"keep": "k", "gone": "g", "change": "old"})
    r = api.post(f"{api.ns_url([name])}/properties", json={
        "removals": ["gone", "never_there"],
        "updates": {"change": "new", "added": "a"}})
    assert r.status == 200, r
    assert r.schema == "UpdateNamespacePropertiesResponse"
    assert sorted(r.body["updated"]) == ["added", "change"]
    assert r.body["removed"] == ["gone"]
    assert r.body.get("missing") == ["never_there"]
    props = api.get(api.ns_url([name])).body["properties"]
    assert props["keep"] == "k" and props["change"] == "new" and props["added"] == "a"
    assert "gone" not in props


def test_update_properties_only_updates(api, ns):
    r = api.post(f"{api.ns_url(ns)}/properties", json={"updates": {"x": "1"}})
    assert r.status == 200, r
    assert r.body["updated"] == ["x"] and r.body["removed"] == []
    assert not r.body.get("missing")


def test_update_properties_key_in_both_rejected(api):
    name = unique("both")
    api.create_namespace([name], {"a": "1"})
    r = api.post(f"{api.ns_url([name])}/properties",
                 json={"removals": ["a"], "updates": {"a": "2"}})
    assert_client_error(r, (400, 422))
    assert api.get(api.ns_url([name])).body["properties"]["a"] == "1"


def test_update_properties_missing_namespace_404(api):
    name = unique("nope")
    r = api.post(f"{api.ns_url([name])}/properties", json={"updates": {"a": "1"}})
    assert_error(r, 404, "NoSuchNamespaceException", startswith=f"Namespace does not exist: {name}")


def test_multi_level_namespace(api):
    root = unique("lvl")
    api.create_namespace([root])
    r = api.create_namespace([root, "two"])
    assert r.body["namespace"] == [root, "two"]
    api.create_namespace([root, "two", "three"])
    r = api.get(f"{api.p}/namespaces/{enc(root)}%1Ftwo%1Fthree")
    assert r.status == 200, r
    assert r.body["namespace"] == [root, "two", "three"]
    # lower-case %1f decodes as well
    r = api.get(f"{api.p}/namespaces/{enc(root)}%1ftwo")
    assert r.status == 200, r
    assert r.body["namespace"] == [root, "two"]


def test_nested_namespace_needs_parent(api):
    root = unique("orphan")
    r = api.create_namespace([root, "child"], expect=None)
    assert_error(r, 404, "NoSuchNamespaceException", contains="Namespace does not exist")
    assert api.get(api.ns_url([root])).status == 404


@pytest.mark.parametrize("encoding", ["%20", "+"])
def test_name_with_space(api, encoding):
    name = unique("TEST NS")
    r = api.create_namespace([name])
    assert r.body["namespace"] == [name]
    path = name.replace(" ", encoding)
    r = api.get(f"{api.p}/namespaces/{path}")
    assert r.status == 200, r
    assert r.body["namespace"] == [name]
    assert api.head(f"{api.p}/namespaces/{path}").status == 204
    assert [name] in api.get(f"{api.p}/namespaces").body["namespaces"]


def test_name_with_dot_is_one_level(api):
    dotted = unique("a") + ".b"
    api.create_namespace([dotted])
    r = api.get(api.ns_url([dotted]))
    assert r.status == 200, r
    assert r.body["namespace"] == [dotted]
    first, second = dotted.split(".")
    assert api.get(api.ns_url([first, second])).status == 404
    api.create_namespace([dotted, "kid"])
    r = api.get(f"{api.p}/namespaces", params={"parent": dotted})
    assert r.body["namespaces"] == [[dotted, "kid"]]


def test_name_with_percent_and_unicode(api):
    name = unique("pct%20x-ü-漢")
    api.create_namespace([name])
    r = api.get(f"{api.p}/namespaces/{ns_path([name])}")
    assert r.status == 200, r
    assert r.body["namespace"] == [name]
