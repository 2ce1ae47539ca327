"""``python -m asynclint``."""

from asynclint.cli import main

main()
