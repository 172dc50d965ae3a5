"""Imports every stage's models, so metadata (Alembic, tests) sees the whole schema."""
from judging.contests.models import *  # noqa: F401,F403
from judging.core.models import *  # noqa: F401,F403
from judging.registration.models import *  # noqa: F401,F403
from judging.scoring.models import *  # noqa: F401,F403
from judging.results.models import *  # noqa: F401,F403
from judging.printing.models import *  # noqa: F401,F403
