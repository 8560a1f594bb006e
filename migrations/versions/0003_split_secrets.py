"""Split the secrets: random link tokens sealed to the mailer key, the pool sealed to the mix key.

Revision ID: 0003
Revises: 0002

Before this revision a link token was HMAC(HKDF(SECRET_KEY), stored nonce), the shuffle pool was
AES-GCM under a key derived from SECRET_KEY, and drafts were unpadded. An installation upgraded
with a wave open must lose nothing, so this revision, **one last time**, rebuilds each open
invitation's token from its nonce and SECRET_KEY and then:

- keeps ``token_hash`` unchanged (every link already sent keeps working), seals the token to the
  mailer public key into the new ``token_sealed`` column, and drops ``token_nonce``;
- re-seals each open person's draft (found by the token, as the app finds it) in the padded form;
- opens each pooled answer set with the old SECRET_KEY-derived key and seals it, padded, to the
  mix public key (entries from before the upgrade carry no language: they are counted under the
  instrument's first language when mixed).

What it needs, only when there is such data: ``SECRET_KEY`` and the two public key files
(``MIX_PUBLIC_KEY_FILE``, ``MAILER_PUBLIC_KEY_FILE``) — from the application's configuration when
run by ``flask --app wsgi db upgrade`` (or the demo), else from the environment. Generate the keys
first (``flask --app wsgi keys generate``). Missing ones stop the upgrade before anything changes,
with one line naming them. An empty database needs none of them.

Downgrading is possible only with no open wave (the nonce cannot be brought back).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import context, op
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_DRAFT_SALT = b"safety-culture-survey/drafts/v1"

invitations = sa.table(
    "invitations",
    sa.column("id", sa.Integer),
    sa.column("wave_id", sa.Integer),
    sa.column("token_hash", sa.String),
    sa.column("token_nonce", sa.LargeBinary),
    sa.column("token_sealed", sa.LargeBinary),
)
drafts = sa.table(
    "drafts",
    sa.column("lookup", sa.String),
    sa.column("wave_id", sa.Integer),
    sa.column("ciphertext", sa.LargeBinary),
)
pool = sa.table(
    "pending_responses",
    sa.column("id", sa.String),
    sa.column("wave_id", sa.Integer),
    sa.column("unit_id", sa.Integer),
    sa.column("ciphertext", sa.LargeBinary),
)
waves = sa.table("waves", sa.column("id", sa.Integer), sa.column("instrument_id", sa.Integer))
instruments = sa.table("instruments", sa.column("id", sa.Integer), sa.column("definition", sa.JSON))


# --- the old derivations (as the app computed them up to revision 0002) ----------------------


def _old_key(secret_key: str, purpose: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose.encode()).derive(
        secret_key.encode()
    )


def _old_token(link_key: bytes, nonce: bytes) -> str:
    mac = hmac.new(link_key, nonce, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode("ascii")


def _draft_hkdf(token: str, purpose: str) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=32, salt=_DRAFT_SALT, info=purpose.encode()
    ).derive(token.encode("utf-8"))


def _aes_open(key: bytes, sealed: bytes, associated: bytes) -> bytes:
    return AESGCM(key).decrypt(sealed[:12], sealed[12:], associated)


def _aes_seal(key: bytes, plaintext: bytes, associated: bytes) -> bytes:
    nonce = os.urandom(12)
    return nonce + AESGCM(key).encrypt(nonce, plaintext, associated)


# --- what the upgrade needs -----------------------------------------------------------------


def _settings() -> Mapping[str, Any]:
    # app.migrate.upgrade(engine, settings=app.config) hands over the running configuration.
    given = context.config.attributes.get("settings")
    return given if given is not None else os.environ


def _needs_secrets(connection: sa.Connection) -> bool:
    open_links = connection.scalar(
        sa.select(sa.func.count())
        .select_from(invitations)
        .where(invitations.c.token_nonce.is_not(None))
    )
    pooled = connection.scalar(sa.select(sa.func.count()).select_from(pool))
    return bool(open_links or pooled)


def _secrets(settings: Mapping[str, Any]) -> tuple[str, Any, Any]:
    from app import keys
    from app.services import sealing

    secret_key = settings.get("SECRET_KEY")
    instance = Path(str(settings.get("INSTANCE_PATH") or "instance"))
    missing = [] if secret_key else ["SECRET_KEY"]
    public: dict[str, Any] = {}
    for kind in ("mix", "mailer"):
        setting, default = keys.FILES[(kind, "public")]
        path = Path(settings.get(setting) or keys.key_dir(instance) / default)
        try:
            public[kind] = sealing.read_public(setting, path, kind)
        except sealing.KeyFileError as error:
            missing.append(str(error))
    if missing:
        raise RuntimeError(
            "revision 0003 re-seals the open waves' links, drafts and pool and needs: "
            + "; ".join(missing)
            + " (run `flask --app wsgi keys generate` first; keep the SECRET_KEY this "
            "installation ran with)"
        )
    return str(secret_key), public["mix"], public["mailer"]


def upgrade() -> None:
    connection = op.get_bind()
    sqlite = connection.dialect.name == "sqlite"
    if sqlite:
        # What the upgrade erases (nonces, the old ciphertexts) must not stay in free pages.
        connection.exec_driver_sql("PRAGMA secure_delete = ON")
    needed = _needs_secrets(connection)
    found = _secrets(_settings()) if needed else None  # before any change: fail changing nothing
    with op.batch_alter_table("invitations") as batch:
        batch.add_column(sa.Column("token_sealed", sa.LargeBinary(), nullable=True))
    if found is not None:
        _reseal(connection, *found)
    else:
        connection.execute(sa.delete(drafts))  # drafts without an open link cannot be opened
    with op.batch_alter_table("invitations") as batch:
        batch.drop_column("token_nonce")


def _instrument_of_wave(connection: sa.Connection) -> dict[int, Any]:
    import surveys

    parsed: dict[int, Any] = {}
    by_instrument: dict[int, Any] = {}
    for wave_id, instrument_id, definition in connection.execute(
        sa.select(waves.c.id, waves.c.instrument_id, instruments.c.definition).join(
            instruments, instruments.c.id == waves.c.instrument_id
        )
    ):
        if instrument_id not in by_instrument:
            if isinstance(definition, str):
                definition = json.loads(definition)
            by_instrument[instrument_id] = surveys.parse_instrument(
                definition, f"instrument {instrument_id}"
            )
        parsed[int(wave_id)] = by_instrument[instrument_id]
    return parsed


def _reseal(connection: sa.Connection, secret_key: str, mix_public: Any, mailer: Any) -> None:
    from app.services import drafts as draft_service
    from app.services import responses

    instrument_of = _instrument_of_wave(connection)
    link_key = _old_key(secret_key, "survey-link-tokens")
    kept_drafts: set[str] = set()
    rows = connection.execute(
        sa.select(
            invitations.c.id,
            invitations.c.wave_id,
            invitations.c.token_hash,
            invitations.c.token_nonce,
        ).where(invitations.c.token_nonce.is_not(None))
    ).all()
    for invitation_id, wave_id, token_hash, nonce in rows:
        token = _old_token(link_key, bytes(nonce))
        if hashlib.sha256(token.encode()).hexdigest() != token_hash:
            raise RuntimeError(
                "SECRET_KEY: it does not rebuild the stored links; give the upgrade the key this "
                "installation ran with (nothing was changed)"
            )
        connection.execute(
            sa.update(invitations)
            .where(invitations.c.id == invitation_id)
            .values(token_sealed=mailer.seal(token.encode("ascii")), token_nonce=None)
        )
        lookup = hashlib.sha256(_draft_hkdf(token, "survey-draft-lookup")).hexdigest()
        sealed = connection.scalar(sa.select(drafts.c.ciphertext).where(drafts.c.lookup == lookup))
        if sealed is None:
            continue
        key = _draft_hkdf(token, "survey-draft-key")
        old = json.loads(_aes_open(key, bytes(sealed), lookup.encode()))
        state = draft_service.DraftState(
            page=int(old["page"]),
            answers=dict(old["answers"]),
            background={str(k): int(v) for k, v in old["background"].items()},
            comment=old["comment"],
        )
        size = draft_service.draft_size(instrument_of[int(wave_id)])
        connection.execute(
            sa.update(drafts)
            .where(drafts.c.lookup == lookup)
            .values(ciphertext=_aes_seal(key, state.to_bytes(size), lookup.encode()))
        )
        kept_drafts.add(lookup)
    # A draft no open link leads to (a closed wave's) cannot be opened by anyone: remove it.
    leftovers = [
        lookup
        for lookup in connection.scalars(sa.select(drafts.c.lookup))
        if lookup not in kept_drafts
    ]
    if leftovers:
        connection.execute(sa.delete(drafts).where(drafts.c.lookup.in_(leftovers)))

    pool_key = _old_key(secret_key, "shuffle-pool")
    for entry_id, wave_id, unit_id, sealed in connection.execute(
        sa.select(pool.c.id, pool.c.wave_id, pool.c.unit_id, pool.c.ciphertext)
    ).all():
        try:
            opened = _aes_open(pool_key, bytes(sealed), f"pool:{wave_id}:{unit_id}".encode())
        except InvalidTag:
            raise RuntimeError(
                "SECRET_KEY: it does not open the waiting answers of the shuffle pool; give the "
                "upgrade the key this installation ran with (nothing was changed)"
            ) from None
        data = json.loads(opened)
        instrument = instrument_of[int(wave_id)]
        answers = responses.Answers(
            items={str(k): int(v) for k, v in data["answers"].items()},
            background={str(k): int(v) for k, v in data["background"].items()},
            comment=data["comment"],
        )
        connection.execute(
            sa.update(pool)
            .where(pool.c.id == entry_id)
            .values(
                ciphertext=responses.seal_pool_entry(
                    mix_public, instrument, answers, instrument.languages[0]
                )
            )
        )


def downgrade() -> None:
    connection = op.get_bind()
    still_open = connection.scalar(
        sa.select(sa.func.count())
        .select_from(invitations)
        .where(invitations.c.token_sealed.is_not(None))
    )
    if still_open:
        raise RuntimeError(
            "cannot downgrade below 0003 while a wave is open: its links are random now and "
            "cannot be turned back into nonces"
        )
    with op.batch_alter_table("invitations") as batch:
        batch.add_column(sa.Column("token_nonce", sa.LargeBinary(length=32), nullable=True))
        batch.drop_column("token_sealed")
