"""Write app/services/common_passwords.txt from the password list the zxcvbn package ships.

zxcvbn (PyPI ``zxcvbn``, MIT licence, Copyright (c) 2016 Daniel Wolf, after Dropbox's zxcvbn)
ranks 30,000 passwords seen in leaks by frequency. We keep the 10,000 most common that have at
least 4 characters (shorter ones are refused by the length rule anyway), lower-cased, one a line.
Run in any environment where zxcvbn is installed (it is not a dependency of the project):

    python -m venv /tmp/zx && /tmp/zx/bin/pip install zxcvbn==4.5.0
    /tmp/zx/bin/python scripts/make_common_passwords.py
"""

from __future__ import annotations

from pathlib import Path

from zxcvbn.frequency_lists import FREQUENCY_LISTS

TARGET = Path(__file__).resolve().parent.parent / "app" / "services" / "common_passwords.txt"
HEADER = """\
# The 10,000 most common passwords of 4 or more characters, lower-cased, most common first.
# Made by scripts/make_common_passwords.py from the list shipped in the zxcvbn package 4.5.0:
# MIT License, Copyright (c) 2016 Daniel Wolf (Python port of Dropbox's zxcvbn). Permission is
# hereby granted, free of charge, to any person obtaining a copy of this software and associated
# documentation files (the "Software"), to deal in the Software without restriction, including
# without limitation the rights to use, copy, modify, merge, publish, distribute, sublicense,
# and/or sell copies of the Software, and to permit persons to whom the Software is furnished to
# do so, subject to the following conditions: The above copyright notice and this permission
# notice shall be included in all copies or substantial portions of the Software. THE SOFTWARE IS
# PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED.
"""


def main() -> None:
    seen: dict[str, None] = {}
    for word in FREQUENCY_LISTS["passwords"]:
        word = word.strip().lower()
        if len(word) >= 4 and word.isprintable():
            seen.setdefault(word, None)
        if len(seen) == 10_000:
            break
    TARGET.write_text(HEADER + "\n".join(seen) + "\n", encoding="utf-8")
    print(f"wrote {len(seen)} passwords to {TARGET}")


if __name__ == "__main__":
    main()
