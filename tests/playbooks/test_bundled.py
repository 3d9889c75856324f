"""The server authorises the bundled playbooks by their content addresses
(`pm_cli/protocol/bundled.py`), not by a copy of the library: the list must be the library's."""

from __future__ import annotations

from pm_cli.playbooks import service
from pm_cli.protocol import bundled, content, rules


def test_the_servers_list_of_bundled_playbooks_is_the_librarys():
    ids = service.bundled_ids()
    listed = "\n".join(f'    "{i}",' for i in sorted(ids))
    assert bundled.IDS == ids, f"put these in pm_cli/protocol/bundled.py's IDS:\n{listed}"


def test_a_playbook_row_must_be_what_its_content_address_says():
    item = service._bundled()[0]
    p = item.playbook
    fields = {
        "created_at": "2026-11-25T00:00:00.000Z",
        "playbook_id": p.id,
        "version": p.version,
        "sha256": p.sha256(),
        "title": p.title,
        "service": p.service,
        "schedule": p.schedule,
        "yaml": item.text,
        "spec": p.canonical(),
    }
    good = {
        "entity": "playbook",
        "op": "append",
        "fields": fields,
        "record_id": content.content_id(p.id, p.version, p.sha256()),
    }
    assert rules.problems(good, create=True) == []
    forged = {**good, "fields": {**fields, "spec": p.canonical().replace(p.title, "改过")}}
    assert rules.problems(forged, create=True) == [
        "fields.sha256: not the sha256 of the spec (a published version's content never "
        "changes: raise its version)"
    ]
    other = {**good, "record_id": content.content_id(p.id, p.version + 1, p.sha256())}
    assert [w.split(":")[0] for w in rules.problems(other, create=True)] == ["record_id"]
