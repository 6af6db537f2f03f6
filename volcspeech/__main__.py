"""``python -m volcspeech``."""

from volcspeech.cli import main

raise SystemExit(main())
