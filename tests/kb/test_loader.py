"""The KB loader and validator: the real KB loads; broken files fail naming file/entry/field."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from kb import FACETS, KBError, read_kb
from kb.model import normalise_term

SEED_DRUGS = {
    "capecitabine": "Xeloda",
    "temozolomide": "Temodal",
    "fluorouracil": "5-FU",
    "oxaliplatin": "Eloxatin",
    "streptozotocin": "Zanosar",
    "irinotecan": "Campto",
    "paclitaxel": "Taxol",
}
SEED_TOPICS = [
    "cisplatin", "carboplatin", "etoposide", "bevacizumab", "captem", "folfox", "folfiri",
    "xelox", "platinum_etoposide", "fcarbost", "why_not_chemo", "grade3_net_vs_nec",
    "grading_ki67", "minen", "oral_vs_iv", "platinum_drugs", "chemo_myth",
    "somatostatin_analogues", "everolimus", "sunitinib", "ga68_pet_finding",
    "captem_prrt_trial", "tace", "intraoperative_chemo", "future_of_chemo", "neoadjuvant",
    "adjuvant", "nec", "second_line",
]  # fmt: skip
# The review fields every entry written by hand in these tests needs.
REVIEW = (
    "reviewed: 2026-11-26\nreviewed_by: oncology pharmacist\n"
    "questions_for_team: ['Is this right for me?', 'What are my options?']\n"
)


def test_real_kb_loads_and_covers_the_seed(real_kb) -> None:
    for entry_id, brand in SEED_DRUGS.items():
        entry = real_kb.entries[entry_id]
        terms = {normalise_term(t) for t, _ in entry.terms()}
        assert normalise_term(brand) in terms, (entry_id, brand)
        assert entry.is_chemo is True
    for entry_id in SEED_TOPICS:
        assert entry_id in real_kb.entries, entry_id


def test_every_entry_names_a_source_and_review_date(real_kb) -> None:
    for entry in real_kb.entries.values():
        assert entry.sources and all(s in real_kb.sources for s in entry.sources)
        assert entry.reviewed[:2] == "20"
        for name, facet in entry.facets.items():
            assert name in FACETS and facet.source in entry.sources


def test_non_chemo_treatments_are_marked_not_chemo(real_kb) -> None:
    for entry_id in (
        "somatostatin_analogues",
        "everolimus",
        "sunitinib",
        "bevacizumab",
    ):
        assert real_kb.entries[entry_id].is_chemo is False, entry_id


@pytest.mark.parametrize(
    "field, value, expected",
    [
        ("kind", "potion", "field 'kind'"),
        ("answer", "", "field 'answer'"),
        ("answer", "x" * 2000, "longer than"),
        ("sources", ["nowhere"], "unknown source 'nowhere'"),
        ("reviewed", "last tuesday", "field 'reviewed'"),
        ("is_chemo", "maybe", "field 'is_chemo'"),
        ("related", ["no_such_entry"], "unknown related entry"),
        ("names", "CAPTEM", "field 'names'"),
        ("colour", "blue", "field 'colour': unknown field; allowed: id, title"),
        ("reviewed_by", "", "field 'reviewed_by': must not be empty"),
        ("reviewed_by", ["pharmacist"], "field 'reviewed_by': must be text"),
        ("questions_for_team", None, "field 'questions_for_team': is required"),
        ("questions_for_team", ["Is it chemo?"], "must hold 2 or 3 questions (got 1)"),
        (
            "questions_for_team",
            ["A?", "B?", "C?", "D?"],
            "must hold 2 or 3 questions (got 4)",
        ),
        (
            "questions_for_team",
            ["Is it chemo?", "Tell me the dose."],
            "field 'questions_for_team[2]': must be one question ending with '?'",
        ),
        (
            "questions_for_team",
            ["Is it chemo? Is it safe?", "What next?"],
            "field 'questions_for_team[1]': must be one question",
        ),
        ("questions_for_team", ["Is it chemo?", "is it  chemo?"], "the same question"),
        ("questions_for_team", ["A?", "x" * 200 + "?"], "longer than 160"),
        ("answer", "Call {helpline}.", "field 'answer': must not hold '{' or '}'"),
        ("title", "CAPTEM}", "field 'title': must not hold"),
        ("questions_for_team", ["A?", "{x}?"], "'questions_for_team[2]': must not"),
    ],
)
def test_broken_field_is_named(
    tmp_kb_dir: Path, field: str, value: object, expected: str
) -> None:
    path = tmp_kb_dir / "entries" / "captem.yml"
    data = yaml.safe_load(path.read_text())
    data[field] = value
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(KBError) as err:
        read_kb(tmp_kb_dir)
    message = str(err.value)
    assert "captem.yml" in message and "entry 'captem'" in message
    assert expected in message


def test_missing_required_field(make_entry, tmp_kb_dir: Path) -> None:
    make_entry("orphan", "id: orphan\ntitle: Orphan\nkind: concept\nsources: [seed]\n")
    with pytest.raises(
        KBError, match=r"orphan\.yml, entry 'orphan', field '\w+': is required"
    ):
        read_kb(tmp_kb_dir)


def test_invalid_yaml_names_the_file(make_entry, tmp_kb_dir: Path) -> None:
    make_entry("broken", "id: broken\ntitle: [unclosed\n")
    with pytest.raises(KBError, match=r"broken\.yml: not valid YAML"):
        read_kb(tmp_kb_dir)


def test_id_must_match_file_name(make_entry, tmp_kb_dir: Path) -> None:
    make_entry(
        "wrong_name",
        "id: other\ntitle: T\nkind: concept\nnames: [zzz]\nanswer: A.\n"
        "sources: [seed]\nreviewed: 2026-11-26\n",
    )
    with pytest.raises(KBError, match="must match the file name 'wrong_name'"):
        read_kb(tmp_kb_dir)


def test_duplicate_term_across_entries(make_entry, tmp_kb_dir: Path) -> None:
    make_entry(
        "copycat",
        "id: copycat\ntitle: T\nkind: concept\nnames: [cap-tem]\nanswer: A.\n"
        "sources: [seed]\n" + REVIEW,
    )
    with pytest.raises(KBError, match="already a name of entry 'captem'"):
        read_kb(tmp_kb_dir)


def test_unknown_facet_and_facet_source(tmp_kb_dir: Path) -> None:
    path = tmp_kb_dir / "entries" / "captem.yml"
    text = path.read_text().replace("  how_given:", "  how_taken:")
    path.write_text(text)
    expected = r"field 'facets.how_taken': unknown field \(did you mean 'how_given'\?\)"
    with pytest.raises(KBError, match=expected):
        read_kb(tmp_kb_dir)


def test_unreachable_entry(make_entry, tmp_kb_dir: Path) -> None:
    make_entry(
        "hidden",
        "id: hidden\ntitle: T\nkind: concept\nanswer: A.\nsources: [seed]\n" + REVIEW,
    )
    with pytest.raises(KBError, match="no question can reach it"):
        read_kb(tmp_kb_dir)


def test_routing_to_unknown_entry(tmp_kb_dir: Path) -> None:
    path = tmp_kb_dir / "routing.yml"
    path.write_text(
        path.read_text().replace("default_entry: why_not_chemo", "default_entry: nope")
    )
    with pytest.raises(KBError, match=r"routing\.yml, entry 'ask_why_not_chemo'"):
        read_kb(tmp_kb_dir)


def test_every_entry_has_a_reviewer_role_and_questions(real_kb) -> None:
    for entry in real_kb.entries.values():
        assert entry.reviewed_by, entry.id
        assert 2 <= len(entry.questions_for_team) <= 3, entry.id
        assert all(q.endswith("?") for q in entry.questions_for_team), entry.id
    assert (
        "Would CAPTEM be an option" in real_kb.entries["captem"].questions_for_team[0]
    )


def _set_source_field(tmp_kb_dir: Path, sid: str, field: str, value: object) -> None:
    for path in (tmp_kb_dir / "sources").glob("*.yml"):
        data = yaml.safe_load(path.read_text())
        for item in data["sources"]:
            if item["id"] == sid:
                if value is None:
                    item.pop(field, None)
                else:
                    item[field] = value
                path.write_text(yaml.safe_dump(data, sort_keys=False))
                return
    raise AssertionError(sid)


@pytest.mark.parametrize(
    "sid, field, value, expected",
    [
        ("cruk_capecitabine", "url", None, "field 'url': needs an address"),
        ("cruk_capecitabine", "url", "www.example.org", "must be an https:// address"),
        ("esmo_gep_nen_2020", "doi", "annonc 2020", "must be a DOI"),
        ("cruk_capecitabine", "year", None, "field 'year': is required"),
        ("cruk_capecitabine", "year", "recent", "field 'year': must be a year"),
        ("cruk_capecitabine", "colour", "blue", "field 'colour': unknown field"),
        ("cruk_capecitabine", "publisher", "{x}", "field 'publisher': must not hold"),
    ],
)
def test_broken_source_is_named(
    tmp_kb_dir: Path, sid: str, field: str, value: object, expected: str
) -> None:
    _set_source_field(tmp_kb_dir, sid, field, value)
    with pytest.raises(KBError) as err:
        read_kb(tmp_kb_dir)
    assert f"entry '{sid}'" in str(err.value) and expected in str(err.value)


def test_every_source_has_year_and_address(real_kb) -> None:
    for source in real_kb.sources.values():
        assert source.year and 1900 <= source.year <= 2100, source.id
        if source.id != "seed":
            assert source.url and source.url.startswith("https://"), source.id


def test_a_doi_becomes_the_link(real_kb) -> None:
    source = real_kb.sources["wolchok_2025_nejm"]
    assert source.doi == "10.1056/NEJMoa2407417"
    assert source.url == "https://doi.org/10.1056/NEJMoa2407417"
