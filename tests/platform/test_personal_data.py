"""Personal data: encrypted at rest with per-tenant data keys, searchable by keyed hash,
validated, masked, and the keys rotated from the shell (docs/personal-data.md)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import date
from typing import TYPE_CHECKING, Any, cast

import pytest
from flask import Flask
from sqlalchemy import MetaData, String, Table, select, text
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from loandesk import pii
from loandesk.app import create_app
from loandesk.audit.models import AuditEvent
from loandesk.db import NAMING_CONVENTION, Database, make_engine
from loandesk.errors import ValidationFailed
from loandesk.pii import validation
from loandesk.pii.cli import keys as keys_cli
from loandesk.pii.keys import clear_cache
from loandesk.settings import DEV_MASTER_KEY, Settings
from loandesk.tenancy import TenantRef, rls, service, use
from loandesk.tenancy.models import Tenant

if TYPE_CHECKING:
    from tests.conftest import DatabaseUrls

NEW_MASTER_KEY = "new-master-key-0123456789abcdef-rotated"

# Real, check-digit-valid numbers (GB 11643 and Luhn; the validation tests below check them).
ID_BEIJING_F = "11010519491231002X"  # GB 11643's own example: Chaoyang, 1949-12-31, female
ID_SHENZHEN_M = "440305199003071236"  # Nanshan, 1990-03-07, male
ID_PUDONG_1988 = "310115198808080429"  # Pudong's code dates from 1992, the holder from 1988
CARD_19 = "6222021001123456789"
CARD_16 = "4111111111111111"
MOBILE = "13800138000"


# --- a model with personal fields, declared only here (the core has no business tables) -----


class DemoBase(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


# a copy of tenants in the demo's metadata, so that its foreign key resolves
cast(Table, Tenant.__table__).to_metadata(DemoBase.metadata)


class DemoBorrower(pii.PersonalData, DemoBase):
    __tablename__ = "pii_demo_borrowers"
    __personal_fields__ = {
        "id_number": "resident_id",
        "mobile": "mobile",
        "bank_card": "bank_card",
        "home_address": "address",
        "full_name": "name",
    }

    note: Mapped[str | None] = mapped_column(String(40))


@pytest.fixture
def borrowers(app: Flask, database_urls) -> Iterator[Table]:
    """The demo table, created by the owner with RLS like a migration would, dropped after."""
    table: Table = DemoBorrower.__table__  # type: ignore[assignment]
    engine = make_engine(database_urls.owner_url)
    with engine.begin() as connection:
        table.create(connection)
        if connection.dialect.name == "postgresql":
            for statement in rls.statements(table.name):
                connection.execute(text(statement))
            connection.execute(
                text(
                    f"GRANT SELECT, INSERT, UPDATE, DELETE ON {table.name} "
                    f"TO {database_urls.app_role}"
                )
            )
    try:
        yield table
    finally:
        with engine.begin() as connection:
            table.drop(connection)
        engine.dispose()


def _db(app: Flask) -> Database:
    db: Database = app.extensions["loandesk"].db
    return db


def _ref(app: Flask, slug: str) -> TenantRef:
    with _db(app).transaction() as session:
        return service.get_by_slug(session, slug).ref()


def _keys(session: Session, master_key: str = DEV_MASTER_KEY) -> pii.Keyring:
    return pii.Keyring(session, master_key=master_key)


def _add_borrower(app: Flask, tenant: TenantRef, note: str, **values: str) -> uuid.UUID:
    with use(tenant), _db(app).transaction() as session:
        keys = _keys(session)
        borrower = DemoBorrower(note=note)
        for field, value in values.items():
            borrower.set_personal(field, value, keys=keys)
        session.add(borrower)
    return borrower.id


def _raw_rows(database_urls: DatabaseUrls, table: str) -> list[tuple[Any, ...]]:
    """Every row of ``table``, read past RLS (as superuser, or from the SQLite file)."""
    engine = make_engine(database_urls.admin_url or database_urls.owner_url)
    try:
        with engine.connect() as connection:
            return [tuple(row) for row in connection.execute(text(f"select * from {table}"))]
    finally:
        engine.dispose()


# --- encryption, search, and what is stored --------------------------------------------------


def test_round_trip_exact_search_and_no_plaintext_at_rest(
    app: Flask, tenant_a, tenant_b, borrowers, database_urls
) -> None:
    a, b = _ref(app, tenant_a.slug), _ref(app, tenant_b.slug)
    first = _add_borrower(
        app,
        a,
        "first",
        id_number=ID_BEIJING_F.lower(),
        mobile="+86 138-0013-8000",
        bank_card="6222 0210 0112 3456 789",
        home_address="广东省深圳市南山区  科技园路1号",
        full_name="张三丰",
    )
    _add_borrower(app, a, "second", id_number=ID_SHENZHEN_M, mobile="13912345678")
    _add_borrower(app, b, "other tenant", id_number=ID_BEIJING_F, mobile=MOBILE)

    with use(a), _db(app).transaction() as session:
        keys = _keys(session)
        row = session.get(DemoBorrower, (a.id, first))
        assert row is not None
        assert row.get_personal("id_number", keys=keys) == ID_BEIJING_F  # stored normalised
        assert row.get_personal("mobile", keys=keys) == MOBILE
        assert row.get_personal("bank_card", keys=keys) == CARD_19
        assert row.get_personal("home_address", keys=keys) == "广东省深圳市南山区 科技园路1号"
        assert row.get_masked("id_number", keys=keys) == "110***********002X"
        assert row.get_masked("mobile", keys=keys) == "138****8000"
        assert row.get_masked("bank_card", keys=keys) == "6222 **** **** 6789"
        assert row.get_masked("home_address", keys=keys) == "广东省深圳市****"
        assert row.get_masked("full_name", keys=keys) == "张*丰"
        assert row.id_number_enc.startswith("pd1:1:")  # type: ignore[attr-defined]

        def notes(field: str, value: str) -> list[str | None]:
            query = select(DemoBorrower.note).where(
                DemoBorrower.personal_match(field, value, keys=keys)
            )
            return list(session.scalars(query.order_by(DemoBorrower.note)))

        # any way of writing the same value finds it; only in this tenant
        assert notes("mobile", "138 0013 8000") == ["first"]
        assert notes("id_number", ID_BEIJING_F.lower()) == ["first"]
        assert notes("bank_card", CARD_19) == ["first"]
        assert notes("home_address", "广东省深圳市南山区 科技园路1号") == ["first"]
        assert notes("mobile", "13800138001") == []
        a_hash = row.mobile_hash  # type: ignore[attr-defined]
    with use(b), _db(app).transaction() as session:
        keys = _keys(session)
        b_row = session.scalars(select(DemoBorrower)).one()
        assert b_row.mobile_hash != a_hash  # type: ignore[attr-defined]  # per-tenant hash key
        found = session.scalars(
            select(DemoBorrower.note).where(
                DemoBorrower.personal_match("mobile", MOBILE, keys=keys)
            )
        ).all()
        assert found == ["other tenant"]

    rows = _raw_rows(database_urls, "pii_demo_borrowers")
    raw = repr(rows)
    assert len(rows) == 3 and raw.count("pd1:1:") == 9  # every value stored encrypted
    for plaintext in (ID_BEIJING_F, ID_BEIJING_F.lower(), MOBILE, "138-0013", CARD_19, "3456789"):
        assert plaintext not in raw
    for plaintext in ("13912345678", ID_SHENZHEN_M, "科技园", "张三丰", "深圳", "南山"):
        assert plaintext not in raw
    assert len(_raw_rows(database_urls, "tenant_data_keys")) == 2  # one data key per tenant


def test_a_moved_or_altered_ciphertext_does_not_decrypt(
    app: Flask, tenant_a, tenant_b, borrowers, database_urls
) -> None:
    a, b = _ref(app, tenant_a.slug), _ref(app, tenant_b.slug)
    one = _add_borrower(app, a, "one", id_number=ID_BEIJING_F, mobile=MOBILE)
    two = _add_borrower(app, a, "two", id_number=ID_SHENZHEN_M)
    theirs = _add_borrower(app, b, "theirs", id_number=ID_SHENZHEN_M)

    with use(a), _db(app).transaction() as session:
        keys = _keys(session)
        row_one = session.get(DemoBorrower, (a.id, one))
        row_two = session.get(DemoBorrower, (a.id, two))
        assert row_one is not None and row_two is not None
        token = row_one.id_number_enc  # type: ignore[attr-defined]
        row_one.mobile_enc = token  # type: ignore[attr-defined]  # another field
        with pytest.raises(pii.DecryptionFailed):
            row_one.get_personal("mobile", keys=keys)
        row_two.id_number_enc = token  # type: ignore[attr-defined]  # another row
        with pytest.raises(pii.DecryptionFailed):
            row_two.get_personal("id_number", keys=keys)
        i = len(token) - 10
        tampered = token[:i] + ("A" if token[i] != "A" else "B") + token[i + 1 :]
        row_one.id_number_enc = tampered  # type: ignore[attr-defined]
        with pytest.raises(pii.DecryptionFailed):
            row_one.get_personal("id_number", keys=keys)
        session.rollback()

    # another tenant: copied in the database, past every wall
    engine = make_engine(database_urls.admin_url or database_urls.owner_url)
    with engine.begin() as connection:
        connection.execute(
            borrowers.update()
            .where(borrowers.c.tenant_id == b.id, borrowers.c.id == theirs)
            .values(id_number_enc=token)
        )
    engine.dispose()
    with use(b), _db(app).transaction() as session:
        row = session.scalars(select(DemoBorrower)).one()
        with pytest.raises(pii.DecryptionFailed):
            row.get_personal("id_number", keys=_keys(session))
        # B's key cannot be used for A's row: the keyring is the current tenant's
        with pytest.raises(Exception, match="another tenant"):
            DemoBorrower(tenant_id=a.id).set_personal("mobile", MOBILE, keys=_keys(session))


def test_data_key_is_created_once_and_a_rolled_back_key_is_forgotten(
    app: Flask, tenant_a, database_urls
) -> None:
    a = _ref(app, tenant_a.slug)
    bind: dict[str, Any] = {"record_type": "t", "field": "f", "record_id": uuid.uuid4()}
    with use(a), _db(app).transaction() as session:
        keys = _keys(session)
        assert keys.current_version is None and keys.search_hash("mobile", MOBILE) is None
        keys.encrypt("discarded", **bind)  # version 1, cached in this process...
        session.rollback()  # ...but never stored
    with use(a), _db(app).transaction() as session:
        stale = _keys(session)
        assert stale.current_version is None  # reading creates nothing
        # Another session creates version 1 meanwhile: the first one's creation then loses on
        # the unique constraint and uses the stored key.
        with _db(app).transaction() as other:
            token = _keys(other).encrypt("kept", **bind)
        second = stale.encrypt("second", **bind)
    with use(a), _db(app).transaction() as session:
        keys = _keys(session)
        assert keys.versions == [1]
        assert keys.decrypt(token, **bind) == "kept" and keys.decrypt(second, **bind) == "second"


@pytest.mark.postgresql
def test_data_keys_are_behind_row_level_security(app: Flask, tenant_a, tenant_b) -> None:
    a, b = _ref(app, tenant_a.slug), _ref(app, tenant_b.slug)
    for tenant in (a, b):
        with use(tenant), _db(app).transaction() as session:
            _keys(session).encrypt("x", record_type="t", field="f", record_id=uuid.uuid4())
    with use(b), _db(app).transaction() as session:
        tenants = session.execute(text("select tenant_id from tenant_data_keys")).scalars().all()
        assert tenants == [b.id]


def test_keyring_from_the_app(app: Flask, tenant_a) -> None:
    a = _ref(app, tenant_a.slug)
    with app.app_context(), use(a):
        keys = pii.for_current_tenant()
        token = keys.encrypt("x", record_type="t", field="f", record_id=a.id)
        keys.session.commit()
        assert keys.current_version == 1 and token.startswith("pd1:1:")


# --- key rotation ----------------------------------------------------------------------------


def _rotate(app: Flask, *args: str, previous: str = "") -> tuple[int, dict[str, Any]]:
    env = {"LOANDESK_PREVIOUS_MASTER_KEYS": previous} if previous else {}
    result = app.test_cli_runner().invoke(keys_cli, ["rotate", *args], env=env)
    return result.exit_code, json.loads(result.output)


def test_rotating_the_master_key_and_adding_a_data_key(
    app: Flask, settings: Settings, tenant_a, tenant_b, borrowers
) -> None:
    a, b = _ref(app, tenant_a.slug), _ref(app, tenant_b.slug)
    old_key = settings.master_key
    first = _add_borrower(app, a, "before", id_number=ID_BEIJING_F, mobile=MOBILE)
    _add_borrower(app, b, "theirs", mobile=MOBILE)

    rotated = create_app(settings.replace(master_key=NEW_MASTER_KEY))
    wrong = create_app(settings.replace(master_key="yet-another-master-key-0123456789"))
    try:
        code, report = _rotate(rotated, previous=f"some-older-key,{old_key}")
        assert code == 0
        assert report == {
            "tenants": 2,
            "rewrapped": 2,
            "already_current": 0,
            "unavailable": 0,
            "new_data_keys": 0,
            "unavailable_tenants": [],
        }
        code, again = _rotate(rotated, previous=old_key)  # idempotent
        assert code == 0 and (again["rewrapped"], again["already_current"]) == (0, 2)

        clear_cache()  # as a process started after the rotation
        with use(a), _db(app).transaction() as session:
            row = session.get(DemoBorrower, (a.id, first))
            assert row is not None
            with pytest.raises(pii.DataKeyUnavailable):
                row.get_personal("id_number", keys=_keys(session, old_key))
            new_keys = _keys(session, NEW_MASTER_KEY)
            assert row.get_personal("id_number", keys=new_keys) == ID_BEIJING_F

        # a master key the keys were never wrapped with: nothing changes, exit 1
        code, failed = _rotate(wrong, "--new-data-key", previous="not-it")
        assert code == 1 and failed["unavailable"] == 2 and failed["new_data_keys"] == 0
        assert sorted(failed["unavailable_tenants"]) == ["tenant-a", "tenant-b"]

        bind: dict[str, Any] = {"record_type": "t", "field": "f", "record_id": first}
        with use(a), _db(app).transaction() as session:
            early = _keys(session, NEW_MASTER_KEY)
            assert early.current_version == 1  # read before the new version exists
            code, report = _rotate(rotated, "--new-data-key")
            assert code == 0 and report["new_data_keys"] == 2 and report["already_current"] == 2
            with _db(app).transaction() as other:
                token = _keys(other, NEW_MASTER_KEY).encrypt("v2", **bind)
            assert token.startswith("pd1:2:") and early.decrypt(token, **bind) == "v2"

        with use(a), _db(app).transaction() as session:
            keys = _keys(session, NEW_MASTER_KEY)
            assert keys.versions == [1, 2] and keys.current_version == 2
            newer = DemoBorrower(note="after")
            newer.set_personal("mobile", "138 0013 8000", keys=keys)
            session.add(newer)
            assert newer.mobile_enc.startswith("pd1:2:")  # type: ignore[attr-defined]
            old_row = session.get(DemoBorrower, (a.id, first))
            assert old_row is not None
            assert old_row.id_number_enc.startswith("pd1:1:")  # type: ignore[attr-defined]
            assert old_row.get_personal("mobile", keys=keys) == MOBILE
            session.flush()
            # the search key comes from version 1: old and new values match alike
            found = session.scalars(
                select(DemoBorrower.note)
                .where(DemoBorrower.personal_match("mobile", MOBILE, keys=keys))
                .order_by(DemoBorrower.note)
            ).all()
            assert found == ["after", "before"]
    finally:
        for extra in (rotated, wrong):
            extra.extensions["loandesk"].db.dispose()
        clear_cache()


def _rotation_events(app: Flask, tenant: TenantRef) -> list[AuditEvent]:
    with use(tenant), _db(app).transaction() as session:
        return list(
            session.scalars(
                select(AuditEvent)
                .where(AuditEvent.action.startswith("keys."))
                .order_by(AuditEvent.seq)
            )
        )


def test_each_rotated_tenant_gets_an_audit_event_without_key_material(
    app: Flask, settings: Settings, tenant_a, tenant_b, borrowers
) -> None:
    a, b = _ref(app, tenant_a.slug), _ref(app, tenant_b.slug)
    _add_borrower(app, a, "keyed", mobile=MOBILE)  # B has no data key yet
    rotated = create_app(settings.replace(master_key=NEW_MASTER_KEY))
    wrong = create_app(settings.replace(master_key="yet-another-master-key-0123456789"))
    try:
        assert _rotate(rotated, previous=settings.master_key)[0] == 0
        (event,) = _rotation_events(app, a)
        assert (event.action, event.record_type, event.actor_kind) == (
            "keys.rotate",
            "tenant_data_keys",
            "system",
        )
        assert event.diff == {
            "rewrapped": 1,
            "already_current": 0,
            "unavailable": 0,
            "new_data_key_version": None,
        }
        assert _rotation_events(app, b) == []  # nothing of B's was rotated

        assert _rotate(rotated)[0] == 0  # nothing left to do: no new event
        assert len(_rotation_events(app, a)) == 1

        assert _rotate(rotated, "--new-data-key")[0] == 0  # both tenants get a version
        assert [e.diff["new_data_key_version"] for e in _rotation_events(app, a)] == [None, 2]
        assert [e.diff["new_data_key_version"] for e in _rotation_events(app, b)] == [1]

        assert _rotate(wrong, previous="not-it")[0] == 1
        failed = _rotation_events(app, a)[-1]
        assert failed.action == "keys.rotate_failed" and failed.diff["unavailable"] == 2

        with use(a), _db(app).transaction() as session:
            stored = [row.wrapped_key for row in session.scalars(select(pii.TenantDataKey))]
        logged = json.dumps([e.diff for e in _rotation_events(app, a)])
        for secret in (*stored, NEW_MASTER_KEY, settings.master_key):
            assert secret not in logged
    finally:
        for extra in (rotated, wrong):
            extra.extensions["loandesk"].db.dispose()
        clear_cache()


# --- validation and masking (pure) -----------------------------------------------------------


def test_validation_of_resident_ids() -> None:
    beijing = pii.validate_resident_id(ID_BEIJING_F.lower(), field="id_number")
    assert beijing.number == ID_BEIJING_F and beijing.region_code == "110105"
    assert (beijing.birth_date, beijing.sex) == (date(1949, 12, 31), "female")
    assert beijing.birth_place == {"province": "北京市", "county": "朝阳区"}
    shenzhen = pii.validate_resident_id(ID_SHENZHEN_M)
    assert (shenzhen.birth_date, shenzhen.sex) == (date(1990, 3, 7), "male")
    assert pii.validate_resident_id(ID_PUDONG_1988).birth_place["county"] == "浦东新区"

    cases = {
        "110105194912310021": validation.RESIDENT_ID_CHECK_DIGIT,
        "110105194902310018": validation.RESIDENT_ID_BIRTH_DATE,  # 31 February
        "110105209912310010": validation.RESIDENT_ID_BIRTH_DATE,  # in the future
        "00000019900101123X": validation.RESIDENT_ID_REGION,
        "110199199001011232": validation.RESIDENT_ID_REGION,  # a province, no such county
        "1101051949123100": validation.RESIDENT_ID_FORMAT,
        "11010519491231002Y": validation.RESIDENT_ID_FORMAT,
        "110105194912310O2X": validation.RESIDENT_ID_FORMAT,
    }
    for number, message in cases.items():
        with pytest.raises(ValidationFailed) as failed:
            pii.validate_resident_id(number, field="id_number")
        assert failed.value.status == 422
        assert failed.value.errors == {"id_number": [message]}, number
    assert pii.validate_resident_id(
        "110105209912310010", today=date(2100, 1, 1)
    ).birth_date == date(2099, 12, 31)


def test_validation_of_bank_cards_and_mobiles() -> None:
    assert pii.validate_bank_card("6222 0210 0112 3456 789") == CARD_19
    assert pii.validate_bank_card(CARD_16) == CARD_16
    for card, message in {
        "6222021001123456780": validation.BANK_CARD_CHECK_DIGIT,
        "4111111111111112": validation.BANK_CARD_CHECK_DIGIT,
        "411111111111": validation.BANK_CARD_FORMAT,  # 12 digits
        "62220210011234567890": validation.BANK_CARD_FORMAT,  # 20 digits
        "6222-0210-abcd-6789": validation.BANK_CARD_FORMAT,
    }.items():
        with pytest.raises(ValidationFailed) as failed:
            pii.validate_bank_card(card, field="card")
        assert failed.value.errors == {"card": [message]}, card

    assert pii.validate_mobile("+86 138-0013-8000") == MOBILE
    assert pii.validate_mobile("(86) 19912345678") == "19912345678"
    for bad in ("12800138000", "1380013800", "138001380001", "1380013800O", "+1 1380013800"):
        with pytest.raises(ValidationFailed) as failed:
            pii.validate_mobile(bad, field="phone")
        assert failed.value.errors == {"phone": [validation.MOBILE_FORMAT]}, bad


def test_set_personal_validates_and_names_the_field(app: Flask, tenant_a) -> None:
    a = _ref(app, tenant_a.slug)
    with use(a), _db(app).transaction() as session:
        keys = _keys(session)
        borrower = DemoBorrower()
        with pytest.raises(ValidationFailed) as failed:
            borrower.set_personal("id_number", "110105194912310021", keys=keys)
        assert failed.value.errors == {"id_number": [validation.RESIDENT_ID_CHECK_DIGIT]}
        assert borrower.id_number_enc is None and keys.current_version is None  # type: ignore[attr-defined]
        with pytest.raises(AttributeError):
            borrower.set_personal("salary", "1", keys=keys)
        borrower.set_personal("mobile", MOBILE, keys=keys)
        borrower.set_personal("mobile", "  ", keys=keys)  # blank clears value and hash
        assert borrower.mobile_enc is None and borrower.mobile_hash is None  # type: ignore[attr-defined]


def test_masking() -> None:
    assert pii.mask_resident_id("110105199001011234") == "110***********1234"
    assert pii.mask_mobile("13812345678") == "138****5678"
    assert pii.mask_mobile("+86 138 1234 5678") == "138****5678"
    assert pii.mask_bank_card("6222 0210 0112 3456 789") == "6222 **** **** 6789"
    assert pii.mask_bank_card(CARD_16) == "4111 **** **** 1111"
    assert pii.mask_address("广东省深圳市南山区科技园路1号") == "广东省深圳市****"
    assert pii.mask_address("北京市朝阳区建国路88号") == "北京市****"
    assert pii.mask_address("上海市浦东新区世纪大道超市") == "上海市****"
    assert pii.mask_address("新疆维吾尔自治区乌鲁木齐市天山区") == "新疆维吾尔自治区乌鲁木齐市****"
    assert pii.mask_address("四川省凉山彝族自治州西昌市") == "四川省凉山彝族自治州****"
    assert pii.mask_address("深圳市南山区科技园") == "深圳市****"
    assert pii.mask_address("Flat 5, 88 Nanjing Road") == "Flat ****"
    assert pii.mask_name("张三") == "张*" and pii.mask_name("张三丰") == "张*丰"
    assert pii.mask_name("欧阳锋锐") == "欧**锐" and pii.mask_name("张") == "*"
    assert pii.mask_text("abcdefgh") == "ab****gh" and pii.mask_text("ab") == "a*"
    assert pii.mask_text("x") == "*" and pii.mask_text("") == ""
    assert pii.mask("mobile", "13812345678") == "138****5678"
    assert pii.mask("unknown kind", "abcdefgh") == "ab****gh"
    # malformed values are still hidden
    assert pii.mask_resident_id("12345") == "1***5" and pii.mask_bank_card("12345") == "1***5"
