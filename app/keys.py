"""The mix and mailer key pairs of a running application: where they are, who loads what, CLI.

Every process reads the two **public** keys at start (a web process seals with them). A
**private** key is read only by the code that needs it, when it first needs it: the mixer job
(``tasks.mix_wave``) reads ``MIX_PRIVATE_KEY_FILE``, the mail job reads
``MAILER_PRIVATE_KEY_FILE``. ``flask --app wsgi worker`` reads and checks both at start, so a
wrong file stops it with one line before it takes any job.

A process "holds" a private key when its configuration names one (the setting, or the default
file under ``instance/keys/`` exists): whatever its code does, it could read it. A web process
that holds the mix private key logs a warning at start and the privacy page says so — the demo
(one process that serves, mixes and mails) is such a process, and says so.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from app.config import ConfigError
from app.services import sealing

log = logging.getLogger(__name__)

#: (kind, half) → (setting, default file name under instance/keys/)
FILES = {
    ("mix", "public"): ("MIX_PUBLIC_KEY_FILE", "mix.pub"),
    ("mix", "private"): ("MIX_PRIVATE_KEY_FILE", "mix.key"),
    ("mailer", "public"): ("MAILER_PUBLIC_KEY_FILE", "mailer.pub"),
    ("mailer", "private"): ("MAILER_PRIVATE_KEY_FILE", "mailer.key"),
}
ROLES = ("web", "worker", "cli", "keys", "demo")
_EXTENSION = "survey_keys"


@dataclass
class _State:
    role: str
    mix_public: sealing.PublicKey | None
    mailer_public: sealing.PublicKey | None
    keyrings: dict[str, sealing.Keyring]


def key_dir(instance_path: str | Path) -> Path:
    return Path(instance_path) / "keys"


def path_of(config: Any, instance_path: str | Path, kind: str, half: str) -> Path:
    """The configured file of a key, or its default under ``instance/keys/``."""
    setting, default = FILES[(kind, half)]
    value = config.get(setting)
    return Path(value) if value else key_dir(instance_path) / default


def holds_private(app: Flask, kind: str) -> bool:
    """Whether this process's configuration gives it the private key of ``kind``."""
    setting, _ = FILES[(kind, "private")]
    return (
        bool(app.config.get(setting))
        or path_of(app.config, app.instance_path, kind, "private").exists()
    )


def generate_files(directory: Path, *, overwrite: bool = False) -> list[Path]:
    """Both key pairs as four files (private ones 0600) in ``directory``; returns the paths."""
    written: list[Path] = []
    for kind in sealing.KINDS:
        private_path = directory / FILES[(kind, "private")][1]
        public_path = directory / FILES[(kind, "public")][1]
        if not overwrite and (private_path.exists() or public_path.exists()):
            raise FileExistsError(f"{private_path} or {public_path} exists; use keys rotate")
        private_raw, public_raw = sealing.generate(kind)
        sealing.write_private_file(private_path, sealing.private_file_text(kind, [private_raw]))
        sealing.write_private_file(public_path, sealing.public_file_text(kind, public_raw))
        written += [private_path, public_path]
    return written


def _ensure_generated(instance_path: Path) -> None:
    """The demo and tests: create the four default files if none exists yet."""
    directory = key_dir(instance_path)
    names = [default for _, default in FILES.values()]
    if not any((directory / name).exists() for name in names):
        generate_files(directory)


def init_app(app: Flask, *, role: str = "web", generate: bool = False) -> None:
    """Read the public keys (ConfigError naming the setting if one is bad) and warn if needed."""
    if role not in ROLES:
        raise ValueError(f"unknown process role {role!r}")
    if generate and not any(app.config.get(setting) for setting, _ in FILES.values()):
        _ensure_generated(Path(app.instance_path))
    state = _State(role, None, None, {})
    app.extensions[_EXTENSION] = state
    if role == "keys":
        return  # the key commands run before any key exists
    try:
        state.mix_public = _read_public(app, "mix")
        state.mailer_public = _read_public(app, "mailer")
    except sealing.KeyFileError as error:
        raise ConfigError(str(error)) from None
    in_web = role in ("web", "demo") and holds_private(app, "mix")
    app.config["MIX_KEY_IN_WEB"] = in_web
    if in_web and role == "web":
        log.warning(
            "this web process can read the mix private key (%s): whoever holds this server and a "
            "copy of the database can open answers waiting in the shuffle pool. Give "
            "MIX_PRIVATE_KEY_FILE to the worker only; the privacy page now says so to staff.",
            path_of(app.config, app.instance_path, "mix", "private"),
        )
    if role == "worker":
        try:
            mix_keyring(app)
            mailer_keyring(app)
        except sealing.KeyFileError as error:
            raise ConfigError(str(error)) from None


def _read_public(app: Flask, kind: str) -> sealing.PublicKey:
    setting, _ = FILES[(kind, "public")]
    return sealing.read_public(
        setting, path_of(app.config, app.instance_path, kind, "public"), kind
    )


def _state(app: Flask | None = None) -> _State:
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    state = app.extensions.get(_EXTENSION)
    if state is None:
        raise RuntimeError("keys.init_app was not called for this application")
    return state  # type: ignore[no-any-return]


def role(app: Flask | None = None) -> str:
    """What this process is for (``ROLES``)."""
    return _state(app).role


def mix_public(app: Flask | None = None) -> sealing.PublicKey:
    key = _state(app).mix_public
    if key is None:
        raise sealing.KeyFileError("MIX_PUBLIC_KEY_FILE: not loaded in this process")
    return key


def mailer_public(app: Flask | None = None) -> sealing.PublicKey:
    key = _state(app).mailer_public
    if key is None:
        raise sealing.KeyFileError("MAILER_PUBLIC_KEY_FILE: not loaded in this process")
    return key


def _keyring(app: Flask | None, kind: str) -> sealing.Keyring:
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    state = _state(app)
    keyring = state.keyrings.get(kind)
    if keyring is None:
        setting, _ = FILES[(kind, "private")]
        keyring = sealing.read_keyring(
            setting, path_of(app.config, app.instance_path, kind, "private"), kind
        )
        public = state.mix_public if kind == "mix" else state.mailer_public
        if public is not None and public.id not in keyring.ids():
            public_setting, _ = FILES[(kind, "public")]
            raise sealing.KeyFileError(
                f"{setting}: holds no private key for the public key in {public_setting} "
                f"(key id {public.id.hex()}); the two files are not one pair"
            )
        state.keyrings[kind] = keyring
    return keyring


def mix_keyring(app: Flask | None = None) -> sealing.Keyring:
    """The mix private key(s): only the mixer job calls this."""
    return _keyring(app, "mix")


def mailer_keyring(app: Flask | None = None) -> sealing.Keyring:
    """The mailer private key(s): only the mail job (and the demo's link list) calls this."""
    return _keyring(app, "mailer")


# --- the CLI ----------------------------------------------------------------------------------

keys_group = AppGroup("keys", help="The mix and mailer key pairs.")


def _directory(directory: str | None) -> Path:
    return Path(directory) if directory else key_dir(current_app.instance_path)


@keys_group.command("generate")
@click.option("--dir", "directory", help="Folder for the four files (default: instance/keys).")
def keys_generate(directory: str | None) -> None:
    """Create the mix and mailer key pairs (files readable by their owner only)."""
    folder = _directory(directory)
    try:
        written = generate_files(folder)
    except FileExistsError as error:
        click.echo(f"error: {error}", err=True)
        raise SystemExit(1) from None
    for path in written:
        click.echo(f"wrote {path} (0600)")
    click.echo(
        "Give the .pub files to every process (MIX_PUBLIC_KEY_FILE, MAILER_PUBLIC_KEY_FILE), "
        "mix.key only to the worker that mixes (MIX_PRIVATE_KEY_FILE) and mailer.key only to "
        "the worker that sends mail (MAILER_PRIVATE_KEY_FILE)."
    )


@keys_group.command("rotate")
@click.option("--dir", "directory", help="Folder of the key files (default: instance/keys).")
@click.option("--kind", type=click.Choice(["mix", "mailer", "both"]), default="both")
def keys_rotate(directory: str | None, kind: str) -> None:
    """A new key pair; the old private key stays in the file to open what is sealed to it."""
    folder = _directory(directory)
    for each in sealing.KINDS if kind == "both" else (kind,):
        private_setting, private_name = FILES[(each, "private")]
        private_path = folder / private_name
        try:
            old = sealing.read_keyring(private_setting, private_path, each)
        except sealing.KeyFileError as error:
            click.echo(f"error: {error}", err=True)
            raise SystemExit(1) from None
        private_raw, public_raw = sealing.generate(each)
        sealing.write_private_file(
            private_path, sealing.private_file_text(each, [private_raw, *old.private_keys])
        )
        sealing.write_private_file(
            folder / FILES[(each, "public")][1], sealing.public_file_text(each, public_raw)
        )
        click.echo(
            f"{each}: new key {sealing.key_id(public_raw).hex()}; {len(old.private_keys)} older "
            f"key(s) kept in {private_path}. Restart every process to seal to the new key."
        )


@keys_group.command("check")
def keys_check() -> None:
    """Read every configured key file; one line per problem, exit 1 if any."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    problems = 0
    for (kind, half), (setting, _) in FILES.items():
        path = path_of(app.config, app.instance_path, kind, half)
        try:
            if half == "public":
                sealing.read_public(setting, path, kind)
            else:
                sealing.read_keyring(setting, path, kind)
        except sealing.KeyFileError as error:
            click.echo(f"error: {error}", err=True)
            problems += 1
            continue
        click.echo(f"{setting}: {path} ok")
    if problems:
        raise SystemExit(1)


def init_cli(app: Flask) -> None:
    app.cli.add_command(keys_group)
