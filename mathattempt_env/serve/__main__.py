"""``python -m mathattempt_env.serve ...`` runs ``mathattempt serve ...``."""

import sys

from mathattempt_env.serve.server import main

sys.exit(main())
