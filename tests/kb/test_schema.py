"""The JSON Schemas and the shared checker (kb/schema/): every hand-edited YAML file names
the schema its loader uses, and schema errors name file, entry and field."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
import yaml

from kb import FACETS, KINDS, KBError, read_kb
from kb.schema import (
    ENTRY_SCHEMA,
    ROUTING_SCHEMA,
    SOURCES_SCHEMA,
    by_key,
    check,
    field_name,
    to_json,
    validator,
)
from scripts import check_kb

ROOT = Path(__file__).resolve().parents[2]
SETTINGS_SCHEMA = ROOT / "config" / "schema" / "safety.json"
SCRIPT_SCHEMA = ROOT / "convtest" / "schema" / "script.json"
MODELINE = "# yaml-language-server: $schema="


def modeline_target(path: Path) -> Path | None:
    """The schema a YAML file names on its first line, resolved, or None."""
    first = path.read_text(encoding="utf-8").split("\n", 1)[0].strip()
    if not first.startswith(MODELINE):
        return None
    return (path.parent / first[len(MODELINE) :].strip()).resolve()


# Every YAML file people edit by hand, with the schema its loader checks it against.
NAMED_SCHEMAS = [
    ("kb/entries/*.yml", ENTRY_SCHEMA),
    ("kb/sources/*.yml", SOURCES_SCHEMA),
    ("kb/routing.yml", ROUTING_SCHEMA),
    ("config/safety.yml", SETTINGS_SCHEMA),
    ("tests/conversations/*.yml", SCRIPT_SCHEMA),
]


@pytest.mark.parametrize("pattern, schema", NAMED_SCHEMAS)
def test_every_file_names_the_schema_its_loader_uses(
    pattern: str, schema: Path
) -> None:
    files = sorted(ROOT.glob(pattern))
    assert files, pattern
    for path in files:
        assert modeline_target(path) == schema.resolve(), path


@pytest.mark.parametrize("pattern, schema", NAMED_SCHEMAS)
def test_every_file_meets_its_schema(pattern: str, schema: Path) -> None:
    for path in sorted(ROOT.glob(pattern)):
        data = to_json(yaml.safe_load(path.read_text(encoding="utf-8")))
        assert check(data, schema, path) == [], path


@pytest.mark.parametrize(
    "schema",
    [ENTRY_SCHEMA, SOURCES_SCHEMA, ROUTING_SCHEMA, SETTINGS_SCHEMA, SCRIPT_SCHEMA],
)
def test_schemas_are_valid_draft_07(schema: Path) -> None:
    data = json.loads(schema.read_text(encoding="utf-8"))
    assert data["$schema"] == "http://json-schema.org/draft-07/schema#"
    validator(schema)  # raises SchemaError if the schema itself is wrong


def test_schema_vocabularies_match_the_code() -> None:
    entry = json.loads(ENTRY_SCHEMA.read_text(encoding="utf-8"))
    assert tuple(entry["properties"]["kind"]["enum"]) == KINDS
    assert tuple(entry["properties"]["facets"]["properties"]) == FACETS
    routing = json.loads(ROUTING_SCHEMA.read_text(encoding="utf-8"))
    facet = routing["properties"]["intents"]["additionalProperties"]["properties"]
    assert tuple(facet["facet"]["enum"]) == ("what_is",) + FACETS


def test_field_names_count_list_positions_from_one() -> None:
    assert field_name(("facets", "how_given", "text")) == "facets.how_given.text"
    assert field_name(("questions_for_team", 1)) == "questions_for_team[2]"
    assert field_name(("conversations", 0, "steps", 2)) == "conversations[1].steps[3]"


def test_yaml_values_are_checked_as_json_holds_them() -> None:
    data = to_json({"reviewed": dt.date(2026, 11, 26), 3: float("nan"), "x": None})
    assert data == {"reviewed": "2026-11-26", "3": "nan", "x": None}
    assert to_json({"x": None, "y": [None]}, drop_empty=True) == {"y": [None]}


def test_problems_come_in_file_order_with_entry_and_field() -> None:
    data = {
        "sources": [
            {
                "id": "good",
                "title": "T",
                "publisher": "P",
                "year": 2020,
                "url": "https://a",
            },
            {"id": "bad", "publisher": " ", "year": "recent", "colur": 1, "doi": "x"},
        ]
    }
    problems = check(data, SOURCES_SCHEMA, "s.yml")
    assert [str(p) for p in problems] == [
        "s.yml, entry 'bad', field 'publisher': must not be empty",
        "s.yml, entry 'bad', field 'year': must be a year like 2020 (got 'recent')",
        "s.yml, entry 'bad', field 'colur': unknown field; allowed: id, title, "
        "publisher, year, url, doi, note",
        "s.yml, entry 'bad', field 'doi': must be a DOI like 10.1056/NEJMoa2407417 "
        "(got 'x')",
        "s.yml, entry 'bad', field 'title': is required",
    ]
    assert problems[0].entry_path == ("sources", 1)
    assert problems[0].keyword == "pattern"


def test_unknown_field_suggests_the_closest() -> None:
    data = {"id": "x", "titel": "T"}
    unknown = [p for p in check(data, ENTRY_SCHEMA, "x.yml") if p.field == "titel"]
    assert unknown[0].message.startswith("unknown field (did you mean 'title'?)")


def test_by_key_finds_the_innermost_entry() -> None:
    data = {"conversations": [{"name": "A", "steps": [{"user": 1}]}]}
    entry_of = by_key("name")
    assert entry_of(data, ("conversations", 0, "steps", 0, "user")) == ("A", 2)
    assert entry_of(data, ("conversations",)) == (None, 0)


def _break_captem(tmp_kb_dir: Path, **changes: object) -> None:
    path = tmp_kb_dir / "entries" / "captem.yml"
    data = yaml.safe_load(path.read_text())
    for key, value in changes.items():
        if value is None:
            data.pop(key)
        else:
            data[key] = value
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def test_a_bad_entry_names_file_entry_and_field(tmp_kb_dir: Path) -> None:
    _break_captem(tmp_kb_dir, reviewed="2026-02-30")
    with pytest.raises(KBError) as err:
        read_kb(tmp_kb_dir)
    assert str(err.value).endswith(
        "entries/captem.yml, entry 'captem', field 'reviewed': "
        "must be a date like 2026-11-26 (got '2026-02-30')"
    )
    assert (err.value.entry, err.value.field) == ("captem", "reviewed")


def test_every_problem_of_a_file_is_kept(tmp_kb_dir: Path, capsys) -> None:
    _break_captem(tmp_kb_dir, kind="potion", is_chemo="yes please", title=None)
    with pytest.raises(KBError) as err:
        read_kb(tmp_kb_dir)
    fields = [p.field for p in err.value.problems]
    assert sorted(fields) == ["is_chemo", "kind", "title"]
    assert "(and 2 more problems in this file)" in str(err.value)
    assert check_kb.main(["--kb", str(tmp_kb_dir), "--partial"]) == 1
    printed = capsys.readouterr().out
    for field in fields:
        assert f"entry 'captem', field '{field}'" in printed


def test_a_facet_source_must_be_one_of_the_entry_sources(tmp_kb_dir: Path) -> None:
    path = tmp_kb_dir / "entries" / "captem.yml"
    data = yaml.safe_load(path.read_text())
    name = next(iter(data["facets"]))
    data["facets"][name]["source"] = "nhs_chemotherapy"
    data["sources"] = [s for s in data["sources"] if s != "nhs_chemotherapy"]
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    with pytest.raises(KBError, match=rf"field 'facets\.{name}': source 'nhs_chemo"):
        read_kb(tmp_kb_dir)


def test_only_the_seed_may_have_no_address(tmp_kb_dir: Path) -> None:
    data = {"sources": [{"id": "seed", "title": "T", "publisher": "P", "year": 2022}]}
    assert check(data, SOURCES_SCHEMA, "s.yml") == []
    data["sources"][0]["id"] = "blog"
    (problem,) = check(data, SOURCES_SCHEMA, "s.yml")
    assert str(problem) == (
        "s.yml, entry 'blog', field 'url': needs an address: give 'url' or 'doi'"
    )


def test_a_bad_routing_rule_names_the_intent(tmp_kb_dir: Path) -> None:
    path = tmp_kb_dir / "routing.yml"
    path.write_text(path.read_text().replace("{facet: brand_names}", "{facet: brands}"))
    with pytest.raises(KBError) as err:
        read_kb(tmp_kb_dir)
    assert "routing.yml, entry 'ask_brand_name', field 'facet': must be one of" in str(
        err.value
    )
