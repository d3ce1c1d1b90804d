"""``escalade serve``: the HTTP service (FastAPI on uvicorn), an edge over the library like the CLI.

:func:`create_app` builds the app; importing this package builds nothing and opens nothing. The
routes: seed 001's escalation API under ``/v1/escalation``, an OpenAI-compatible
``/v1/chat/completions`` and ``/v1/models``, the escalation engine's ``/v1/decisions`` and
``/v1/outcomes``, the administrator's ``/v1/admin`` and ``/metrics``. See ``docs/service.md``.
"""

from escalade.service._app import create_app, create_app_from_env
from escalade.service._settings import ADMIN_KEY_ENV, DEFAULT_MAX_BODY_BYTES, ServiceSettings

__all__ = ["ADMIN_KEY_ENV", "DEFAULT_MAX_BODY_BYTES", "ServiceSettings", "create_app", "create_app_from_env"]
