"""Benchmark: what sealing and padding cost per entry, next to the format they replace.

For the default instrument, per operation (median of several rounds, microseconds):

- pool entry, web side: revision 0002 (JSON → AES-GCM under a SECRET_KEY-derived key) against
  now (pack → pad to the one size → X25519 sealed box to the mix public key);
- pool entry, mixer side: AES-GCM open against sealed-box open + unpad + unpack;
- draft save/open: unpadded AES-GCM against padded AES-GCM;
- link token: HMAC from SECRET_KEY + nonce (0002) against sealing a random token to the mailer
  key at launch, and opening it in the mail job.

A typical answer set (every item, two background answers, a 120-character comment) and the
largest legal one (2,000 four-byte characters) are both measured: with padding they cost the same.

    .venv/bin/python benchmarks/sealing.py [--rounds 7] [--n 2000]
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cryptography.hazmat.primitives import hashes  # noqa: E402
from cryptography.hazmat.primitives.ciphers.aead import AESGCM  # noqa: E402
from cryptography.hazmat.primitives.kdf.hkdf import HKDF  # noqa: E402

import surveys  # noqa: E402
from app.services import drafts, responses, sealing, tokens  # noqa: E402


def _per_op(work: Callable[[], object], n: int, rounds: int) -> float:
    """Median over ``rounds`` of the mean time of one call, in microseconds."""
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(n):
            work()
        times.append((time.perf_counter() - start) / n * 1e6)
    return statistics.median(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--n", type=int, default=2000)
    args = parser.parse_args()
    n, rounds = args.n, args.rounds

    instrument = surveys.load_default()
    secret = "bench-secret-" + "x" * 40
    old_pool_key = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"shuffle-pool"
    ).derive(secret.encode())
    mix_private, _ = sealing.generate("mix")
    mix = sealing.Keyring("mix", (mix_private,))
    mailer_private, _ = sealing.generate("mailer")
    mailer = sealing.Keyring("mailer", (mailer_private,))
    items = {key: 1 + i % 5 for i, key in enumerate(instrument.item_keys)}
    background = {q.key: 1 for q in instrument.background[:2]}
    longest = instrument.comment.max_length if instrument.comment else 0
    cases = {
        "typical": responses.Answers(items, background, "x" * 120),
        "largest": responses.Answers(items, background, "𝔘" * longest),
    }
    associated = b"pool:1:2"

    print(f"sealing benchmark: {n} operations x {rounds} rounds, median per operation")
    print(f"  instrument {instrument.key}@{instrument.version}: {len(items)} items")
    print(
        f"  pool entry: {responses.pool_entry_size(instrument)} bytes padded, "
        f"{responses.pool_entry_size(instrument) + sealing.SEAL_OVERHEAD} stored; draft: "
        f"{drafts.draft_size(instrument)} padded, {drafts.draft_size(instrument) + 28} stored"
    )
    for name, answers in cases.items():
        payload = json.dumps(
            {
                "answers": dict(answers.items),
                "background": dict(answers.background),
                "comment": answers.comment,
            },
            sort_keys=True,
        ).encode()

        def old_seal(payload: bytes = payload) -> bytes:
            nonce = os.urandom(12)
            return nonce + AESGCM(old_pool_key).encrypt(nonce, payload, associated)

        old_blob = old_seal()

        def new_seal(answers: responses.Answers = answers) -> bytes:
            return responses.seal_pool_entry(mix.public, instrument, answers, "en")

        new_blob = new_seal()
        old_open = _per_op(
            lambda b=old_blob: json.loads(AESGCM(old_pool_key).decrypt(b[:12], b[12:], associated)),
            n,
            rounds,
        )
        new_open = _per_op(lambda b=new_blob: responses.open_pool_entry(mix, b), n, rounds)
        print(f"  pool entry ({name}: {len(old_blob)} bytes before, {len(new_blob)} now)")
        print(
            f"    seal (web):  0002 {_per_op(old_seal, n, rounds):7.1f} us   "
            f"now {_per_op(new_seal, n, rounds):7.1f} us"
        )
        print(f"    open (mixer): 0002 {old_open:7.1f} us   now {new_open:7.1f} us")

        state = drafts.DraftState(page=3, answers=dict(answers.items), comment=answers.comment)
        keys = drafts.DraftKeys.of(tokens.new_token())
        size = drafts.draft_size(instrument)
        old_state = json.dumps(
            {"page": 3, "answers": state.answers, "background": {}, "comment": state.comment},
            sort_keys=True,
        ).encode()
        draft_old = _per_op(
            lambda s=old_state, k=keys: drafts.seal(k.key, s, k.lookup.encode()), n, rounds
        )
        draft_new = _per_op(
            lambda s=state, k=keys, z=size: drafts.seal(k.key, s.to_bytes(z), k.lookup.encode()),
            n,
            rounds,
        )
        sealed_draft = drafts.seal(keys.key, state.to_bytes(size), keys.lookup.encode())
        draft_open = _per_op(lambda b=sealed_draft, k=keys: drafts.open_draft(k, b), n, rounds)
        print(
            f"    draft save:  0002 {draft_old:7.1f} us   now {draft_new:7.1f} us   "
            f"(open now {draft_open:.1f} us)"
        )

    link_key = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"survey-link-tokens"
    ).derive(secret.encode())
    nonce = os.urandom(32)

    def old_token() -> str:
        mac = hmac.new(link_key, nonce, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()

    token = tokens.new_token()
    sealed_token = tokens.seal_token(mailer.public, token)
    print("  link token")
    launch = _per_op(lambda: tokens.seal_token(mailer.public, tokens.new_token()), n, rounds)
    print(
        f"    launch, per invitation: 0002 {_per_op(old_token, n, rounds):7.1f} us   now "
        f"{launch:7.1f} us"
    )
    print(
        f"    email, per message:     0002 {_per_op(old_token, n, rounds):7.1f} us   now "
        f"{_per_op(lambda: tokens.open_token(mailer, sealed_token), n, rounds):7.1f} us"
    )
    print(f"  cores: {os.cpu_count()}, load average: {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
