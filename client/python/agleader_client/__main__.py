"""python -m agleader_client: the same as the agleader-client console script."""

import sys

from agleader_client.cli import main

sys.exit(main())
