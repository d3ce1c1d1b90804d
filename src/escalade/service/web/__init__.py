"""The web inbox of ``escalade serve`` at ``/inbox`` (issue 17 item 8): server-rendered pages, plain forms.

- :mod:`~escalade.service.web._session`: signed, expiring session cookies, checked against their key;
- :mod:`~escalade.service.web._pages`: the Jinja2 pages and the headers they are sent with;
- :mod:`~escalade.service.web._forms`: an item's form as an inbox answer;
- :mod:`~escalade.service.web.router`: the routes.
"""

from escalade.service.web._session import SESSION_KEY_ENV
from escalade.service.web.router import router

__all__ = ["SESSION_KEY_ENV", "router"]
