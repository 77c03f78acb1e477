"""``python -m stonks`` runs the CLI."""

import sys

from stonks.cli.main import main

sys.exit(main())
