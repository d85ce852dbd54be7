"""`python -m webapp` is the same as the `webapp` command."""

from webapp.cli import main

raise SystemExit(main())
