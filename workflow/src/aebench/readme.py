"""``python -m aebench.readme``, the documented command: the code is :mod:`aebench.runctl.readme`.
This stub only forwards, so the command stays what README and the docs show."""

from .runctl.readme import main

if __name__ == "__main__":
    raise SystemExit(main())
