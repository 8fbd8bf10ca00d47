"""``python -m aebench.status``, the documented command: the code is :mod:`aebench.runctl.status`.
This stub only forwards, so the command stays what README and the docs show."""

from .runctl.status import main

if __name__ == "__main__":
    raise SystemExit(main())
